"""The channel worker engine: turns task records into at most one vendor send each (P2).

Per attempt: recognise a redelivered task by its attempt id; send only a task the ledger holds,
as it is, with the decision that authorised it (P1); re-check holds and consent against the
ledger at dispatch time (P6); drop a task whose window has passed; record DispatchStarted
durably, then call the vendor, then record the outcome. An attempt that was started but has no
outcome (a crash in between) is never blindly resent: it is started again only at the vendor it
was started at, where that start was marked as de-duplicated on the attempt id and the adapter
still honours the attempt id as an idempotency key; else it is recorded as outcome-unknown.

Which attempts were started or finished is remembered only while a task of them could still be
sent: a task is never sent after its deadline, so past it (and a clock-skew margin) the attempt
is forgotten, and memory holds the work in flight, not the log's history (ADR 0010).
"""

from __future__ import annotations

import asyncio
import heapq
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from pydantic import ValidationError

from contracts import MESSAGE_TYPES, TASK_TYPES, ClockTicked, Message
from contracts.decisions import ContactDecided, Verdict
from contracts.ledger import LedgerEntry
from contracts.outcomes import ContactOutcomeRecorded, DispatchStarted, OutcomeKind
from contracts.tasks import CHANNEL_OF, SendLetter, Task
from contracts.values import Channel
from events.deadletter import dead_letter_out
from events.envelope import Envelope, derive_id, wrap
from events.records import Out, Record
from events.serialization import Undecodable, decode
from events.topics import Topics
from services.channels.ports import SENDING_FOR, ChannelAdapter, SendResult
from services.orchestrator.core.evolve import evolve, revision_of
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


# The longest a task authorised ahead of this worker's clock is waited for, inside its batch.
MAX_WAIT_AHEAD = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Horizon:
    """How long a worker must remember an attempt (ADR 0010).

    ``task_lifetime``: a task not sent within this long of its authorisation is expired unsent,
    whatever its ``not_after``, so no task lives longer. ``clock_skew``: how far apart the clocks
    that stamp one attempt may be (the orchestrator's decision time, which may run ahead on
    future-dated input, each worker's wall clock, record timestamps).
    """

    task_lifetime: timedelta = timedelta(hours=1)
    clock_skew: timedelta = timedelta(minutes=10)

    @property
    def span(self) -> timedelta:
        """How long after one of its records an attempt can still be remembered: the record
        follows the task's authorisation (give or take the skew), the deadline is at most a
        lifetime after that, and an attempt is kept one skew past its deadline."""
        return self.task_lifetime + 2 * self.clock_skew

    def deadline(self, task: Task) -> datetime:
        return min(task.not_after, task.authorised_at + self.task_lifetime)

    @property
    def wait_ahead(self) -> timedelta:
        """The longest a task authorised ahead of this worker's clock is waited for; one further
        ahead is refused."""
        return min(self.clock_skew, MAX_WAIT_AHEAD)

    def keep_until(self, task: Task) -> datetime:
        """A skew past the deadline, so a task coming again just after it is still recognised
        (no second outcome), and a wall clock stepped back a little never sees it live again."""
        return self.deadline(task) + self.clock_skew


def _deduplicating_vendor(adapter: ChannelAdapter | None) -> str | None:
    """The one vendor every send through ``adapter`` reaches, if that vendor de-duplicates
    requests on the attempt id; None otherwise."""
    if adapter is None or not getattr(adapter, "honours_idempotency", False):
        return None
    vendor = adapter.vendor
    # A failover chain names its vendors joined by ">" (FailoverAdapter.vendor), also behind a
    # rate limiter. Which of them a send reaches depends on which is up at the time, so a second
    # request may reach one that never saw the first: no vendor's de-duplication covers both.
    return vendor if vendor and ">" not in vendor else None


@dataclass(slots=True)
class WorkerPartition:
    started: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    # The vendor a started attempt's last start went to, where that start was marked
    # vendor_deduplicates: only there may it be started again (P2). The key the first request
    # carried means nothing to another vendor, and an unmarked start has no key honoured.
    deduplicated_at: dict[str, str] = field(default_factory=dict)
    borrowers: dict[str, BorrowerState] = field(default_factory=dict)
    # Each task the ledger holds with its authorising decision, by attempt, while it could still
    # be sent: only a task equal to one of these is sent (``Dispatcher._refusal``). Soonest
    # expiry first in ``authorised_expiry``, as with ``expiry`` below.
    authorised: dict[str, tuple[Task, datetime]] = field(default_factory=dict)
    authorised_expiry: list[tuple[datetime, str]] = field(default_factory=list)
    # Until when each remembered attempt is kept; the same as a heap, soonest first (entries
    # whose time was pushed back since are skipped when they come up).
    kept_until: dict[str, datetime] = field(default_factory=dict)
    expiry: list[tuple[datetime, str]] = field(default_factory=list)

    def remember(
        self,
        attempt_id: str,
        until: datetime,
        *,
        finished: bool,
        deduplicated_at: str | None = None,
    ) -> None:
        """``deduplicated_at``, for a start: the vendor it went to if it was marked as
        de-duplicated there, else None. A later start replaces what an earlier one said: a
        request again would follow the last one (as the audit reads them)."""
        if finished:
            self.finished.add(attempt_id)
        else:
            self.started.add(attempt_id)
            if deduplicated_at is None:
                self.deduplicated_at.pop(attempt_id, None)
            else:
                self.deduplicated_at[attempt_id] = deduplicated_at
        kept = self.kept_until.get(attempt_id)
        if kept is None or until > kept:
            self.kept_until[attempt_id] = until
            heapq.heappush(self.expiry, (until, attempt_id))

    def authorise(self, task: Task, until: datetime) -> None:
        """Keep ``task`` as authorised until ``until``; a later authorisation of the same
        attempt replaces it."""
        self.authorised[task.attempt_id] = (task, until)
        heapq.heappush(self.authorised_expiry, (until, task.attempt_id))

    def authorised_task(self, attempt_id: str) -> Task | None:
        kept = self.authorised.get(attempt_id)
        return None if kept is None else kept[0]

    def forget(self, now: datetime) -> None:
        """Drop the attempts kept until before ``now``: no task of theirs can be sent any more.
        ``now`` must come from the clock that decides sends, which never goes back (a wall clock
        stepped back stays within the skew), so a forgotten attempt's task stays expired.

        A start with no outcome stays, however old: a crash came between the two, so its task
        was not committed and comes again, to be recorded as outcome unknown (P2), not expired.
        """
        while self.expiry and self.expiry[0][0] < now:
            until, attempt_id = heapq.heappop(self.expiry)
            if self.kept_until.get(attempt_id) != until:
                continue  # kept longer since
            del self.kept_until[attempt_id]
            if attempt_id in self.finished:
                self.drop(attempt_id)
        while self.authorised_expiry and self.authorised_expiry[0][0] < now:
            until, attempt_id = heapq.heappop(self.authorised_expiry)
            kept = self.authorised.get(attempt_id)
            if kept is not None and kept[1] == until:  # else authorised again since
                del self.authorised[attempt_id]

    def drop(self, attempt_id: str) -> None:
        self.started.discard(attempt_id)
        self.finished.discard(attempt_id)
        self.deduplicated_at.pop(attempt_id, None)
        self.kept_until.pop(attempt_id, None)  # its entry in the heap is skipped when it comes


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
        horizon: Horizon | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.topics = topics
        self.adapters = adapters
        self.clock = clock
        self.horizon = horizon or Horizon()
        self._sleep = sleep
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
        """Fold our own dispatch records back in: which attempts were started or finished, and
        at which vendor a start marked as de-duplicated went. A record does not carry its task's
        deadline, only when it was written: the attempt is kept for the horizon's span after
        that, the longest any task of it may still come."""
        ws = self.states[partition]
        try:
            envelope = Envelope.model_validate_json(value)
        except ValueError:
            return
        finished = envelope.type == ContactOutcomeRecorded.TYPE and envelope.producer == PRODUCER
        if envelope.type != DispatchStarted.TYPE and not finished:
            return
        attempt_id = str(envelope.payload.get("attempt_id", ""))
        until = envelope.occurred_at + self.horizon.span
        if finished and until < self.clock.now():
            ws.drop(attempt_id)  # it has its outcome, and no task of it can be sent any more
            return
        # Records written before vendor_deduplicates existed lack it: unmarked, never resent.
        vendor = envelope.payload.get("vendor")
        marked = envelope.payload.get("vendor_deduplicates") is True
        deduplicated_at = vendor if marked and isinstance(vendor, str) and vendor else None
        ws.remember(attempt_id, until, finished=finished, deduplicated_at=deduplicated_at)

    def restore_ledger(self, partition: int, value: bytes) -> None:
        """Fold a ledger entry: holds and consent as the orchestrator knows them (P6)."""
        ws = self.states.get(partition)
        if ws is None:
            return
        entry = LedgerEntry.model_validate_json(value)
        state = ws.borrowers.get(entry.borrower_id) or BorrowerState(entry.borrower_id)
        ws.borrowers[entry.borrower_id] = state
        authorised: set[str] = set()
        now = self.clock.now()
        for raw in ([entry.event] if entry.event and not entry.duplicate else []) + list(
            entry.derived
        ):
            envelope = Envelope.model_validate(raw)
            message = MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)
            if raw is entry.event:
                # Ordered by when it occurred, as the orchestrator applied it; and an input is
                # not Parley's to authorise.
                revision = revision_of(entry.strategy_version)
                evolve(state, message, entry.now, envelope.occurred_at, revision)
                continue
            evolve(state, message, entry.now)
            if isinstance(message, ContactDecided) and message.verdict is Verdict.AUTHORISED:
                authorised.add(message.attempt_id)
            elif isinstance(message, Task) and message.attempt_id in authorised:
                until = self.horizon.keep_until(message)
                if until >= now:  # else it can no longer be sent: not worth keeping
                    ws.authorise(message, until)
        # The re-check reads parties' holds and consent and loans' disputes only
        # (recheck.revoked_since), none of which evolve derives from these (a fired timer does
        # touch a loan's promise fields, which the re-check never reads); kept, they would grow
        # with every contact ever decided. Holds and consent stay: an old revocation still wins.
        state.attempts.clear()
        state.verdicts.clear()
        state.timers.clear()

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
        now = self.clock.now()
        for ws in self.states.values():
            ws.forget(now)
        await publish(dead)
        gate = asyncio.Semaphore(self.max_in_flight)

        async def run(jobs: list[_Job]) -> None:
            async with gate:
                for job in jobs:
                    await self._one(job, publish, recheck)

        await asyncio.gather(*(run(jobs) for jobs in by_borrower.values()))

    def _refusal(
        self, ws: WorkerPartition, job: _Job, adapter: ChannelAdapter | None
    ) -> tuple[OutcomeKind, str] | None:
        """Why this task may not be sent now, by what this worker knows; None: it may."""
        task, now = job.task, self.clock.now()
        channel = CHANNEL_OF[type(task)]
        state = ws.borrowers.get(job.envelope.borrower_id)
        expired = now > self.horizon.deadline(task)
        if not expired and (state is None or ws.authorised_task(task.attempt_id) != task):
            # Only what the ledger holds as authorised is sent, as it was authorised: a task on
            # the topic with no decision behind it (written by anything but the orchestrator,
            # or changed on the way) never reaches a vendor (P1). The orchestrator writes an
            # entry before its tasks, and the batch's re-check has read the ledger since.
            return OutcomeKind.CANCELLED, "no authorisation in the ledger for this task"
        if state is not None:
            reason = revoked_since(
                state,
                task.party_id,
                task.loan_id,
                channel,
                _address(task),
                task.purpose,
                now,
                co_debtor_stay=task.co_debtor_stay,
                revoked_with=task.revoked_with,
            )
            if reason is not None:
                return OutcomeKind.CANCELLED, reason
        if expired:
            # Past its lifetime a task may have been sent and forgotten already: never send it.
            why = "window closed" if now > task.not_after else "task lifetime passed"
            return OutcomeKind.EXPIRED, f"{why} before dispatch"
        if task.authorised_at > now + self.horizon.wait_ahead:
            # Decided by a clock further ahead than a short wait covers: sent now, it would go
            # out before the instant the gate proved, and waiting minutes would hold the whole
            # batch (its lock, rebalances, the poll interval). Not sent; and beyond the skew
            # margin its records would outlive what a restore keeps of them (ADR 0010).
            return OutcomeKind.FAILED, "authorised ahead of this worker's clock"
        if adapter is None:
            return OutcomeKind.FAILED, f"no adapter for {channel}"
        return None

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
        deduplicated_at = _deduplicating_vendor(adapter)
        if attempt_id in ws.started and (
            deduplicated_at is None or ws.deduplicated_at.get(attempt_id) != deduplicated_at
        ):
            # Started again only where the first request was marked as de-duplicated, at the
            # vendor this adapter sends to: the same audit rule (dispatch_repeated, P2).
            await self._outcome(
                job, publish, OutcomeKind.OUTCOME_UNKNOWN, "", "started before a crash"
            )
            return
        early = task.authorised_at - self.clock.now()
        if timedelta(0) < early <= self.horizon.wait_ahead:
            # Decided by a clock a little ahead of this one (hosts' clocks differ by that much):
            # wait for the instant the gate proved, so that the contact never leaves before it
            # (the audit checks that a dispatch starts inside its authorisation). Further ahead
            # it is refused (_refusal): a longer wait would hold the batch.
            await self._sleep(early.total_seconds())
        # Any wait for the vendor's rate limit comes before the last checks: after them, a task
        # could wait minutes behind a burst and then go out past its window (21:00) or after a
        # revocation processed meanwhile (P6). The same checks run first on what is known now,
        # so that a task that will not be sent (a backlog of expired ones) takes no token.
        refusal = self._refusal(ws, job, adapter)
        reserve = getattr(adapter, "reserve", None)
        if refusal is None:
            if reserve is not None:
                await reserve()
            await recheck()
            refusal = self._refusal(ws, job, adapter)
            release = getattr(adapter, "release", None)
            if refusal is not None and reserve is not None and release is not None:
                release()  # the token goes back to the bucket
        if refusal is not None:
            kind, detail = refusal
            if attempt_id in ws.started:
                # Started before a crash, to a vendor that honours the attempt id: the first
                # request may have reached the person, so it is unknown, never "not sent" (P2).
                kind, detail = OutcomeKind.OUTCOME_UNKNOWN, f"started before a crash; {detail}"
            await self._outcome(job, publish, kind, "", detail)
            return
        assert adapter is not None  # _refusal says so otherwise
        now = self.clock.now()
        started = DispatchStarted(
            attempt_id=attempt_id,
            channel=channel,
            vendor=adapter.vendor,
            started_at=now,
            # Only such a start lets the attempt be started again (above); the audit checks it.
            vendor_deduplicates=deduplicated_at is not None,
        )
        await publish([self._out(job, started, "started")])  # durable before the vendor sees it
        ws.remember(
            attempt_id,
            self.horizon.keep_until(task),
            finished=False,
            deduplicated_at=deduplicated_at,
        )
        sending_for = SENDING_FOR.set(job.envelope.borrower_id)
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
        finally:
            SENDING_FOR.reset(sending_for)
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
            ws.remember(job.task.attempt_id, self.horizon.keep_until(job.task), finished=True)
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
