"""The channel worker engine: turns task records into at most one vendor send each (P2).

Per attempt: recognise a redelivered task by its attempt id; re-check holds and consent against
the ledger at dispatch time (P6); drop a task whose window has passed; record DispatchStarted
durably, then call the vendor, then record the outcome. An attempt that was started but has no
outcome (a crash in between) is never blindly resent: it is resent only to a vendor that honours
the attempt id as an idempotency key, else recorded as outcome-unknown.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import ValidationError

from contracts import MESSAGE_TYPES, TASK_TYPES, ClockTicked, Message
from contracts.ledger import LedgerEntry
from contracts.outcomes import ContactOutcomeRecorded, DispatchStarted, OutcomeKind
from contracts.tasks import CHANNEL_OF, SendLetter, Task
from contracts.values import Channel
from events.deadletter import dead_letter_out
from events.envelope import Envelope, derive_id, wrap
from events.records import Out, Record
from events.serialization import Undecodable, decode
from events.topics import Topics
from services.channels.ports import ChannelAdapter, SendResult
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.recheck import revoked_since
from services.orchestrator.core.state import BorrowerState
from services.runtime.clock import Clock

log = structlog.get_logger("channels")
PRODUCER = "channel-worker"
Publish = Callable[[Sequence[Out]], Awaitable[None]]
Recheck = Callable[[], Awaitable[None]]


async def _nothing_to_read() -> None:
    """No ledger to read again: the dispatcher's holds and consent are what it was given."""


def _address(task: Task) -> str | None:
    """The phone or email a revocation could name; a letter's postal address is never one."""
    return None if isinstance(task, SendLetter) else task.to


@dataclass(slots=True)
class WorkerPartition:
    started: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    borrowers: dict[str, BorrowerState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Job:
    record: Record
    envelope: Envelope
    task: Task


class Dispatcher:
    def __init__(
        self,
        topics: Topics,
        adapters: dict[Channel, ChannelAdapter],
        clock: Clock,
        *,
        max_in_flight: int = 32,
        max_record_bytes: int = 256 * 1024,
    ) -> None:
        self.topics = topics
        self.adapters = adapters
        self.clock = clock
        self.max_in_flight = max_in_flight
        self.max_record_bytes = max_record_bytes
        self.states: dict[int, WorkerPartition] = {}
        self._accept = frozenset({*(m.TYPE for m in TASK_TYPES), ClockTicked.TYPE})

    # -- state from the logs ------------------------------------------------------------------

    def assign(self, partition: int) -> None:
        self.states[partition] = WorkerPartition()

    def revoke(self, partition: int) -> None:
        self.states.pop(partition, None)

    def restore_outcome(self, partition: int, value: bytes) -> None:
        """Fold our own dispatch records back in: which attempts were started or finished."""
        ws = self.states[partition]
        try:
            envelope = Envelope.model_validate_json(value)
        except ValueError:
            return
        attempt_id = str(envelope.payload.get("attempt_id", ""))
        if envelope.type == DispatchStarted.TYPE:
            ws.started.add(attempt_id)
        elif envelope.type == ContactOutcomeRecorded.TYPE and envelope.producer == PRODUCER:
            ws.finished.add(attempt_id)

    def restore_ledger(self, partition: int, value: bytes) -> None:
        """Fold a ledger entry: holds and consent as the orchestrator knows them (P6)."""
        ws = self.states.get(partition)
        if ws is None:
            return
        entry = LedgerEntry.model_validate_json(value)
        state = ws.borrowers.get(entry.borrower_id) or BorrowerState(entry.borrower_id)
        ws.borrowers[entry.borrower_id] = state
        for raw in ([entry.event] if entry.event and not entry.duplicate else []) + list(
            entry.derived
        ):
            envelope = Envelope.model_validate(raw)
            evolve(state, MESSAGE_TYPES[envelope.type].model_validate(envelope.payload), entry.now)

    # -- dispatch -----------------------------------------------------------------------------

    async def dispatch(
        self, records: Sequence[Record], publish: Publish, recheck: Recheck = _nothing_to_read
    ) -> None:
        """Send a batch: borrowers in parallel (bounded), each borrower's tasks in order.
        ``recheck`` brings the ledger's holds and consent up to date before each send (P6)."""
        by_borrower: dict[bytes, list[_Job]] = defaultdict(list)
        dead: list[Out] = []
        for record in records:
            if record.partition not in self.states:
                continue
            try:
                decoded = decode(
                    record.value, record.key, accept=self._accept, max_bytes=self.max_record_bytes
                )
            except Undecodable as exc:
                dead.append(
                    dead_letter_out(
                        record,
                        self.topics.deadletter,
                        exc.reason,
                        exc.detail,
                        PRODUCER,
                        max_record_bytes=self.max_record_bytes,
                    )
                )
                continue
            message = decoded.message
            if isinstance(message, ClockTicked):
                advance = getattr(self.clock, "advance_to", None)
                if advance is not None:
                    advance(message.now)
                continue
            assert isinstance(message, Task)
            by_borrower[record.key or b""].append(_Job(record, decoded.envelope, message))
        await publish(dead)
        gate = asyncio.Semaphore(self.max_in_flight)

        async def run(jobs: list[_Job]) -> None:
            async with gate:
                for job in jobs:
                    await self._one(job, publish, recheck)

        await asyncio.gather(*(run(jobs) for jobs in by_borrower.values()))

    async def _one(self, job: _Job, publish: Publish, recheck: Recheck) -> None:
        ws = self.states.get(job.record.partition)
        task, attempt_id = job.task, job.task.attempt_id
        if ws is None or attempt_id in ws.finished:
            return  # redelivered after it was done: recognised, never sent again (P2)
        channel = CHANNEL_OF[type(task)]
        adapter = self.adapters.get(channel)
        advance = getattr(self.clock, "advance_to", None)
        if (
            advance is not None
        ):  # simulated time is event time: a task is never seen before it exists
            advance(task.authorised_at)
        now = self.clock.now()
        if attempt_id in ws.started and not getattr(adapter, "honours_idempotency", False):
            await self._outcome(
                job, publish, OutcomeKind.OUTCOME_UNKNOWN, "", "started before a crash"
            )
            return
        await recheck()
        state = ws.borrowers.get(job.envelope.borrower_id)
        reason = (
            revoked_since(
                state, task.party_id, task.loan_id, channel, _address(task), task.purpose, now
            )
            if state
            else None
        )
        if reason is not None:
            await self._outcome(job, publish, OutcomeKind.CANCELLED, "", reason)
            return
        if now > task.not_after:
            await self._outcome(
                job, publish, OutcomeKind.EXPIRED, "", "window closed before dispatch"
            )
            return
        if adapter is None:
            await self._outcome(job, publish, OutcomeKind.FAILED, "", f"no adapter for {channel}")
            return
        started = DispatchStarted(
            attempt_id=attempt_id, channel=channel, vendor=adapter.vendor, started_at=now
        )
        await publish([self._out(job, started, "started")])  # durable before the vendor sees it
        ws.started.add(attempt_id)
        try:
            result = await adapter.send(task)
        except Exception as exc:
            # A vendor answer the adapter could not read (a broken body after a 201, say) may
            # follow a send that happened: record it as unknown, never resend it (P2), and go
            # on with the batch. The type only: the text may quote the request (P7).
            log.warning("adapter_failed", attempt_id=attempt_id, error=type(exc).__name__)
            result = SendResult(
                adapter.vendor,
                OutcomeKind.OUTCOME_UNKNOWN,
                detail=f"adapter_error:{type(exc).__name__}",
            )
        await self._outcome(
            job, publish, result.outcome, result.vendor, result.detail, result.external_id
        )

    async def _outcome(
        self,
        job: _Job,
        publish: Publish,
        kind: OutcomeKind,
        vendor: str,
        detail: str,
        external_id: str = "",
    ) -> None:
        ws = self.states.get(job.record.partition)

        def recorded(external_id: str, detail: str) -> ContactOutcomeRecorded:
            return ContactOutcomeRecorded(
                attempt_id=job.task.attempt_id,
                channel=CHANNEL_OF[type(job.task)],
                outcome=kind,
                vendor=vendor,
                external_id=external_id,
                reported_at=self.clock.now(),
                detail=detail[:500],
            )

        try:
            outcome = recorded(external_id, detail)
        except ValidationError:
            # What the vendor said does not fit the contract (an id too long, say): the outcome
            # is recorded all the same, without it, rather than lost with the batch (P3).
            outcome = recorded("", f"vendor reply unusable; {detail}")
        await publish([self._out(job, outcome, "outcome")])
        if ws is not None:
            ws.finished.add(job.task.attempt_id)
        log.info(
            "dispatch_outcome", attempt_id=job.task.attempt_id, outcome=kind.value, vendor=vendor
        )

    def _out(self, job: _Job, message: Message, step: str) -> Out:
        envelope = wrap(
            message,
            borrower_id=job.envelope.borrower_id,
            occurred_at=self.clock.now(),
            producer=PRODUCER,
            event_id=derive_id(job.task.attempt_id, step),
            causation_id=job.envelope.event_id,
            correlation_id=job.envelope.correlation_id,
        )
        return Out(
            self.topics.outcomes,
            job.record.partition,
            job.record.key or b"",
            envelope.model_dump_json().encode(),
        )
