"""The orchestrator engine: records in, records out. No broker here, so it is tested directly;
``app.py`` wires it to Kafka.

Per input record it yields exactly one ledger entry or one dead letter (P3: in = processed +
dead-lettered). Ledger entries are written before tasks are published, and an input whose
offset is already in the ledger is recognised and only its tasks are re-published (P2: the
channel worker deduplicates by attempt id, so a re-published task is never sent twice).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts import MESSAGE_TYPES, OUTCOME_TYPES, UPSTREAM_TYPES, ClockTicked, Message
from contracts.ledger import InputRef, LedgerEntry, TimerScheduled
from contracts.outcomes import ContactOutcomeRecorded, DispatchStarted
from contracts.tasks import PlaceCall, SendEmail, SendLetter, SendSms
from events.deadletter import dead_letter_out
from events.envelope import Envelope, derive_id, wrap
from events.partitioning import partition_for
from events.records import Out, Record
from events.serialization import Reason, Undecodable, decode
from events.topics import Role, Topics
from services.compliance.core.localtime import shareable
from services.orchestrator.core.decide import Context, decide, fire_timers
from services.orchestrator.core.evolve import evolve, revision_of
from services.orchestrator.core.state import BorrowerState

PRODUCER = "orchestrator"
_TASK_ROLE = {
    SendSms: Role.TASKS_SMS,
    SendEmail: Role.TASKS_EMAIL,
    PlaceCall: Role.TASKS_CALL,
    SendLetter: Role.TASKS_LETTER,
}
_CLOCK_ONLY = frozenset({ClockTicked.TYPE})
_REDELIVERY_MEMORY = 20_000  # entries per partition whose tasks can be re-published on redelivery


@dataclass(slots=True)
class Emitted:
    ledger: list[Out] = field(default_factory=list)
    tasks: list[Out] = field(default_factory=list)
    deadletters: list[Out] = field(default_factory=list)

    def extend(self, other: Emitted) -> None:
        self.ledger.extend(other.ledger)
        self.tasks.extend(other.tasks)
        self.deadletters.extend(other.deadletters)


@dataclass(slots=True)
class PartitionState:
    partition: int
    borrowers: dict[str, BorrowerState] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)  # input topic -> highest applied offset
    recent: OrderedDict[tuple[str, int], list[Out]] = field(default_factory=OrderedDict)
    undispatched: dict[str, Out] = field(default_factory=dict)  # attempt id -> its task record
    clock: datetime | None = None
    dirty: bool = False
    # (due_at, borrower id) of every timer scheduled, so a tick touches only due borrowers;
    # items go stale when a timer is fired or withdrawn, and are skipped when popped.
    due: list[tuple[datetime, str]] = field(default_factory=list)

    def advance(self, instant: datetime) -> datetime:
        instant = shareable(instant)  # a parsed time would miss every memo of the gate
        self.clock = instant if self.clock is None else max(self.clock, instant)
        return self.clock

    def remember(self, ref: tuple[str, int], tasks: list[Out]) -> None:
        self.recent[ref] = tasks
        while len(self.recent) > _REDELIVERY_MEMORY:
            self.recent.popitem(last=False)


class Orchestrator:
    def __init__(
        self,
        topics: Topics,
        partitions: int,
        ctx: Context,
        *,
        strategy_version: str,
        max_record_bytes: int,
        max_clock_skew: timedelta = timedelta(minutes=5),
    ) -> None:
        self.topics = topics
        self.max_clock_skew = max_clock_skew
        self.partition_count = partitions
        self.ctx = ctx
        self.strategy_version = strategy_version
        self.max_record_bytes = max_record_bytes
        self.states: dict[int, PartitionState] = {}
        # Borrowers whose due timers raised: not fired again until restart (see ``tick``).
        self.set_aside: dict[str, str] = {}
        self._inputs = {topics.upstream, topics.outcomes, topics.clock}
        self._task_topics = {cls: topics.name(role) for cls, role in _TASK_ROLE.items()}
        # Which message types each input topic may carry (anything else is dead-lettered).
        self._accept = {
            topics.upstream: frozenset(m.TYPE for m in UPSTREAM_TYPES),
            topics.outcomes: frozenset(m.TYPE for m in OUTCOME_TYPES),
        }

    # -- partition ownership ------------------------------------------------------------------

    def assign(self, partition: int) -> PartitionState:
        self.states[partition] = PartitionState(partition)
        return self.states[partition]

    def revoke(self, partition: int) -> None:
        self.states.pop(partition, None)

    def restore(self, partition: int, value: bytes) -> None:
        """Fold one ledger entry into the partition's state (never re-deciding: P5)."""
        ps = self.states[partition]
        entry = LedgerEntry.model_validate_json(value)
        state = self._state(ps, entry.borrower_id)
        if entry.event is not None:
            envelope = Envelope.model_validate(entry.event)
            state.seen_events.add(envelope.event_id)
            if not entry.duplicate:
                evolve(
                    state,
                    MESSAGE_TYPES[envelope.type].model_validate(envelope.payload),
                    entry.now,
                    envelope.occurred_at,
                    revision_of(entry.strategy_version),
                )
                self._forget_dispatched(ps, envelope)
        tasks = self._apply_derived(ps, state, entry.derived, entry.now)
        if entry.input is not None:
            ps.applied[entry.input.topic] = max(
                ps.applied.get(entry.input.topic, -1), entry.input.offset
            )
            ps.remember((entry.input.topic, entry.input.offset), tasks)
        ps.advance(entry.now)

    def pending_tasks(self, partition: int) -> list[Out]:
        """Tasks reserved in the ledger but not yet seen dispatched: re-published after a restore,
        so a crash between writing the ledger and publishing the task loses no contact."""
        return list(self.states[partition].undispatched.values())

    # -- processing ---------------------------------------------------------------------------

    def process(self, record: Record, wall_now: datetime | None = None) -> Emitted:
        ps = self.states.get(record.partition)
        if ps is None:  # not ours (revoked mid-batch): the new owner will process it
            return Emitted()
        if record.offset <= ps.applied.get(record.topic, -1):
            return Emitted(tasks=list(ps.recent.get((record.topic, record.offset), [])))
        try:
            decoded = decode(
                record.value,
                record.key,
                accept=self._accepted(record.topic),
                max_bytes=self.max_record_bytes,
            )
            assert record.key is not None
            if partition_for(record.key, self.partition_count) != record.partition:
                raise Undecodable(Reason.MISROUTED, "partition differs from the key's partition")
        except Undecodable as exc:
            return self._dead(ps, record, exc.reason, exc.detail)
        envelope, message = decoded.envelope, decoded.message
        if isinstance(message, ClockTicked):
            ps.applied[record.topic] = record.offset
            return self.tick(record.partition, message.now)
        if wall_now is not None and envelope.occurred_at > wall_now + self.max_clock_skew:
            # The partition's clock never goes back: one input dated next year would move every
            # borrower on it to next year, where tonight's calls fall inside the window (P1).
            return self._dead(
                ps,
                record,
                Reason.FUTURE_DATED,
                f"occurred_at is {envelope.occurred_at - wall_now} ahead of the wall clock",
            )
        now = ps.advance(max(envelope.occurred_at, wall_now) if wall_now else envelope.occurred_at)
        state = self._state(ps, envelope.borrower_id)
        ref = InputRef(topic=record.topic, partition=record.partition, offset=record.offset)
        if envelope.event_id in state.seen_events:
            return self._entry(ps, state, ref, envelope, [], now, duplicate=True)
        try:
            # The input is a fact: fold it in first, then decide how to react to the new state.
            state.seen_events.add(envelope.event_id)
            evolve(state, message, now, envelope.occurred_at)
            derived = decide(state, message, now, self.ctx)
        except Exception as exc:
            ps.dirty = True  # state may hold half an input: the shell restores it from the ledger
            return self._dead(
                ps, record, Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}"[:300]
            )
        return self._entry(ps, state, ref, envelope, derived, now)

    def tick(self, partition: int, now: datetime) -> Emitted:
        """Fire due timers on one partition: one ledger entry per borrower with a due timer."""
        ps = self.states.get(partition)
        out = Emitted()
        if ps is None:
            return out
        now = ps.advance(now)
        due: set[str] = set()
        while ps.due and ps.due[0][0] <= now:
            due.add(heapq.heappop(ps.due)[1])
        for borrower_id in sorted(due):  # sorted: the same inputs give the same ledger (P5)
            state = ps.borrowers[borrower_id]
            if not any(t.due_at <= now for t in state.timers.values()):
                continue  # a stale heap item: that timer was fired or withdrawn meanwhile
            if borrower_id in self.set_aside:
                continue
            try:
                fired = fire_timers(state, now, self.ctx)
            except Exception as exc:
                # A timer that cannot fire (a bug) would fail again after every restore and, if
                # it stopped the service, on every instance in turn: it is set aside until the
                # process restarts, the partition is rebuilt from the ledger (the state may hold
                # half of it), and every other borrower's timers go on firing.
                self.set_aside[borrower_id] = type(exc).__name__
                ps.dirty = True
                continue
            out.extend(self._entry(ps, state, None, None, fired, now))
        return out

    # -- helpers ------------------------------------------------------------------------------

    def _accepted(self, topic: str) -> frozenset[str]:
        return self._accept.get(topic, _CLOCK_ONLY)

    def _state(self, ps: PartitionState, borrower_id: str) -> BorrowerState:
        state = ps.borrowers.get(borrower_id)
        if state is None:
            state = ps.borrowers[borrower_id] = BorrowerState(borrower_id)
        return state

    def _dead(self, ps: PartitionState, record: Record, reason: Reason, detail: str) -> Emitted:
        ps.applied[record.topic] = record.offset
        return Emitted(
            deadletters=[
                dead_letter_out(
                    record,
                    self.topics.deadletter,
                    reason,
                    detail,
                    PRODUCER,
                    max_record_bytes=self.max_record_bytes,
                )
            ]
        )

    def _apply_derived(
        self,
        ps: PartitionState,
        state: BorrowerState,
        derived: tuple[dict[str, Any], ...],
        now: datetime,
    ) -> list[Out]:
        tasks: list[Out] = []
        for raw in derived:
            envelope = Envelope.model_validate(raw)
            message = MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)
            evolve(state, message, now)
            self._track_timer(ps, state, message)
            self._track_task(ps, state, envelope, message, tasks)
        return tasks

    def _track_task(
        self,
        ps: PartitionState,
        state: BorrowerState,
        envelope: Envelope,
        message: Message,
        tasks: list[Out],
    ) -> None:
        topic = self._task_topics.get(type(message))
        if topic is not None:
            out = Out(
                topic, ps.partition, state.borrower_id.encode(), envelope.model_dump_json().encode()
            )
            tasks.append(out)
            ps.undispatched[getattr(message, "attempt_id")] = out  # noqa: B009

    @staticmethod
    def _track_timer(ps: PartitionState, state: BorrowerState, message: Message) -> None:
        if isinstance(message, TimerScheduled):
            heapq.heappush(ps.due, (message.due_at, state.borrower_id))

    @staticmethod
    def _forget_dispatched(ps: PartitionState, envelope: Envelope) -> None:
        """A dispatch record or outcome came back: the task went out, never re-publish it."""
        if envelope.type in (DispatchStarted.TYPE, ContactOutcomeRecorded.TYPE):
            ps.undispatched.pop(str(envelope.payload.get("attempt_id")), None)

    def _entry(
        self,
        ps: PartitionState,
        state: BorrowerState,
        ref: InputRef | None,
        envelope: Envelope | None,
        derived: list[Message],
        now: datetime,
        *,
        duplicate: bool = False,
    ) -> Emitted:
        entry_id = (
            derive_id(ref.topic, str(ref.partition), str(ref.offset))
            if ref
            else derive_id("tick", state.borrower_id, now.isoformat())
        )
        cause = envelope.event_id if envelope else entry_id
        correlation = (envelope.correlation_id or envelope.event_id) if envelope else entry_id
        envelopes = [
            wrap(
                m,
                borrower_id=state.borrower_id,
                occurred_at=now,
                producer=PRODUCER,
                event_id=derive_id(entry_id, str(i)),
                causation_id=cause,
                correlation_id=correlation,
            )
            for i, m in enumerate(derived)
        ]
        tasks: list[Out] = []
        for env, message in zip(envelopes, derived, strict=True):
            evolve(state, message, now)
            self._track_timer(ps, state, message)
            self._track_task(ps, state, env, message, tasks)
        if envelope is not None and not duplicate:
            self._forget_dispatched(ps, envelope)
        entry = LedgerEntry(
            entry_id=entry_id,
            borrower_id=state.borrower_id,
            now=now,
            policy_version=self.ctx.policy.version,
            strategy_version=self.strategy_version,
            input=ref,
            event=envelope.model_dump(mode="json") if envelope else None,
            duplicate=duplicate,
            derived=tuple(e.model_dump(mode="json") for e in envelopes),
        )
        if ref is not None:
            ps.applied[ref.topic] = ref.offset
            ps.remember((ref.topic, ref.offset), tasks)
        ledger = Out(
            self.topics.ledger,
            ps.partition,
            state.borrower_id.encode(),
            entry.model_dump_json().encode(),
        )
        return Emitted(ledger=[ledger], tasks=tasks)
