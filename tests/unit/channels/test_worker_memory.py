"""What a channel worker remembers of the attempts it dispatched, and for how long (ADR 0010).

An attempt is remembered while a task of it could still be sent, and forgotten after: memory
holds the work in flight, not the log's history. Forgetting never lets an attempt go twice (P2):
a task is never sent past its deadline, and a task is never older than the task lifetime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts import Message
from contracts.decisions import ContactDecided, Evidence, Verdict, Window
from contracts.ledger import LedgerEntry
from contracts.outcomes import ContactOutcomeRecorded, DispatchStarted, OutcomeKind
from contracts.tasks import SendSms
from contracts.upstream import BorrowerProfiled, ConsentRevoked
from contracts.values import Channel, Phone, PhoneType, Purpose
from events.envelope import derive_id, wrap
from events.records import Out, Record
from events.topics import Topics
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import PRODUCER, Dispatcher, Horizon
from services.runtime.clock import SimClock
from tests.support.authorised import authorise
from tests.unit.channels.channels_unit_support import NOW, PHONE, sms

TOPICS = Topics("unit")
BORROWER = "party-1"  # the borrower is the task's party, so the re-check knows who it is
GRACE = timedelta(minutes=15)  # the orchestrator's dispatch grace: a task's usual window
HORIZON = Horizon(task_lifetime=timedelta(hours=1), clock_skew=timedelta(minutes=10))


class Published:
    def __init__(self) -> None:
        self.records: list[Out] = []

    async def __call__(self, records: Sequence[Out]) -> None:
        self.records += records

    def outcomes(self, attempt_id: str) -> list[dict[str, Any]]:
        """Every outcome recorded for the attempt, as envelopes, in order."""
        envelopes = [json.loads(r.value) for r in self.records]
        return [
            e
            for e in envelopes
            if e["type"] == "contact.outcome" and e["payload"]["attempt_id"] == attempt_id
        ]


def authorised(attempt_id: str, at: datetime, *, window: timedelta = GRACE) -> SendSms:
    return sms(attempt_id).model_copy(update={"authorised_at": at, "not_after": at + window})


def records(d: Dispatcher, *tasks: SendSms) -> list[Record]:
    """The tasks' records, after the ledger entry authorising them, as the orchestrator writes
    them: first the entries, then the tasks (``tests.support.authorised``)."""
    authorise(d, *tasks, borrower_id=BORROWER)
    out = []
    for offset, task in enumerate(tasks):
        envelope = wrap(task, borrower_id=BORROWER, occurred_at=task.authorised_at, producer="t")
        out.append(
            Record(
                TOPICS.tasks[0], 0, offset, BORROWER.encode(), envelope.model_dump_json().encode()
            )
        )
    return out


def dispatcher(adapter: FakeChannelAdapter, clock: SimClock) -> Dispatcher:
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, clock, horizon=HORIZON)
    d.assign(0)
    return d


def written(message: Message, at: datetime) -> bytes:
    """A record a channel worker wrote to the outcomes topic at ``at`` (by its clock)."""
    return (
        wrap(message, borrower_id=BORROWER, occurred_at=at, producer=PRODUCER)
        .model_dump_json()
        .encode()
    )


def started(attempt_id: str, at: datetime) -> bytes:
    return written(
        DispatchStarted(attempt_id=attempt_id, channel=Channel.SMS, vendor="fake", started_at=at),
        at,
    )


def finished(attempt_id: str, at: datetime) -> bytes:
    return written(
        ContactOutcomeRecorded(
            attempt_id=attempt_id,
            channel=Channel.SMS,
            outcome=OutcomeKind.DELIVERED,
            vendor="fake",
            reported_at=at,
        ),
        at,
    )


def remembered(d: Dispatcher) -> set[str]:
    ws = d.states[0]
    return ws.started | ws.finished | set(ws.kept_until) | set(ws.authorised)


# -- memory is bounded by the work in flight -------------------------------------------------


async def test_memory_holds_the_attempts_in_flight_not_every_attempt_ever_sent() -> None:
    """Ninety days of hourly texts leave the worker remembering the last hour's only."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    hours = 24 * 90

    for hour in range(hours):
        task = authorised(f"att-{hour}", NOW + timedelta(hours=hour))
        await d.dispatch(records(d, task), published)

    assert len(adapter.sent) == hours
    # Forgetting happens as each batch begins: the one before the last is still there.
    assert remembered(d) <= {f"att-{hours - 2}", f"att-{hours - 1}"}
    assert len(d.states[0].expiry) <= 2
    assert len(d.states[0].authorised_expiry) <= 2


async def test_a_restore_keeps_nothing_of_records_older_than_the_horizon() -> None:
    """Dispatch records from before the horizon's span name no task that can still be sent."""
    clock = SimClock(NOW)
    d = dispatcher(FakeChannelAdapter(), clock)
    long_ago = NOW - HORIZON.span - timedelta(seconds=1)

    for n in range(1000):
        d.restore_outcome(0, started(f"old-{n}", long_ago - timedelta(minutes=n)))
        d.restore_outcome(0, finished(f"old-{n}", long_ago - timedelta(minutes=n)))
    d.restore_outcome(0, started("recent", NOW - timedelta(minutes=5)))

    assert remembered(d) == {"recent"}


# -- forgetting never lets an attempt go twice ----------------------------------------------


async def test_a_task_delivered_again_within_its_lifetime_is_not_sent_again() -> None:
    """P2: later traffic makes the worker forget older attempts, never one still in flight."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    task = authorised("att-1", NOW)
    await d.dispatch(records(d, task), published)

    for minute in (5, 10, 14):  # other borrowers' texts move the clock on; att-1 comes again
        later = NOW + timedelta(minutes=minute)
        await d.dispatch(records(d, authorised(f"other-{minute}", later)), published)
        await d.dispatch(records(d, task), published)

    assert adapter.attempt_ids.count("att-1") == 1
    assert [o["payload"]["outcome"] for o in published.outcomes("att-1")] == ["accepted"]


async def test_a_task_delivered_again_just_after_its_window_is_recognised_not_expired() -> None:
    """Within the clock-skew margin past its deadline the attempt is still known: it gets no
    second, contradicting outcome."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    task = authorised("att-1", NOW)
    await d.dispatch(records(d, task), published)

    clock.advance_to(NOW + GRACE + HORIZON.clock_skew - timedelta(seconds=1))
    await d.dispatch(records(d, task), published)

    assert [o["payload"]["outcome"] for o in published.outcomes("att-1")] == ["accepted"]


async def test_an_attempt_started_before_a_crash_is_resolved_as_unknown_not_resent() -> None:
    """P2: the dispatch record a crashed worker left is restored, with the history around it
    forgotten, and its task, which comes again, is recorded as outcome unknown."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    for n in range(100):
        d.restore_outcome(0, started(f"old-{n}", NOW - timedelta(days=1 + n)))
        d.restore_outcome(0, finished(f"old-{n}", NOW - timedelta(days=1 + n)))
    d.restore_outcome(0, started("att-1", NOW))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert adapter.sent == []
    [outcome] = published.outcomes("att-1")
    assert outcome["payload"]["outcome"] == "outcome_unknown"
    assert remembered(d) == {"att-1"}


async def test_a_start_without_an_outcome_is_kept_however_old_until_its_task_comes() -> None:
    """A worker down for days after a crash: the task it was sending was not committed and
    comes again long after its window. It may have reached the person, so it must count against
    the caps: recorded as outcome unknown, never as expired (never sent)."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    crashed_at = NOW - timedelta(days=3)
    d.restore_outcome(0, started("att-1", crashed_at))

    await d.dispatch(records(d, authorised("other", NOW)), published)  # forgetting runs first
    await d.dispatch(records(d, authorised("att-1", crashed_at)), published)

    assert adapter.attempt_ids == ["other"]
    [outcome] = published.outcomes("att-1")
    assert outcome["payload"]["outcome"] == "outcome_unknown"


async def test_a_task_past_the_task_lifetime_is_expired_unsent_whatever_its_window() -> None:
    """What bounds memory: no task is sent later than the lifetime after its authorisation, so
    no record older than that (and the skew) can name a task that may still go."""
    adapter, clock, published = (
        FakeChannelAdapter(),
        SimClock(NOW + timedelta(minutes=61)),
        Published(),
    )
    d = dispatcher(adapter, clock)

    await d.dispatch(records(d, authorised("att-1", NOW, window=timedelta(hours=3))), published)

    assert adapter.sent == []
    [outcome] = published.outcomes("att-1")
    assert outcome["payload"]["outcome"] == "expired"
    assert outcome["payload"]["detail"] == "task lifetime passed before dispatch"


async def test_a_forgotten_attempt_that_comes_again_is_expired_never_sent() -> None:
    """The limit of forgetting (ADR 0010): a task re-published long after it was sent gets a
    second outcome, "expired", under the first outcome's event id, so a reader that drops
    duplicate event ids (the orchestrator does) keeps the first. It is never sent again."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    task = authorised("att-1", NOW)
    await d.dispatch(records(d, task), published)

    clock.advance_to(NOW + timedelta(hours=2))
    await d.dispatch(records(d, task), published)

    assert adapter.attempt_ids == ["att-1"]
    first, second = published.outcomes("att-1")
    assert (first["payload"]["outcome"], second["payload"]["outcome"]) == ("accepted", "expired")
    assert first["event_id"] == second["event_id"] == derive_id("att-1", "outcome")


# -- the ledger fold keeps what the re-check reads ------------------------------------------


def entry(at: datetime, *, event: Message | None = None, derived: Sequence[Message] = ()) -> bytes:
    def env(m: Message) -> dict[str, Any]:
        return wrap(m, borrower_id=BORROWER, occurred_at=at, producer="o").model_dump(mode="json")

    return (
        LedgerEntry(
            entry_id=derive_id("entry", at.isoformat()),
            borrower_id=BORROWER,
            now=at,
            policy_version="p",
            strategy_version="s",
            input=None,
            event=env(event) if event else None,
            derived=tuple(env(m) for m in derived),
        )
        .model_dump_json()
        .encode()
    )


def decided(attempt_id: str, at: datetime) -> ContactDecided:
    return ContactDecided(
        attempt_id=attempt_id,
        party_id=BORROWER,
        loan_id="loan-1",
        channel=Channel.SMS,
        to=PHONE,
        purpose=Purpose.COLLECTION,
        verdict=Verdict.AUTHORISED,
        evidence=Evidence(candidate_zones=("UTC",), window=Window(opens_at=None, closes_at=None)),
        policy_version="p",
        decided_at=at,
    )


async def test_the_ledger_fold_keeps_consent_for_good_but_not_the_contact_history() -> None:
    """P6 reads who may be contacted, and a revocation of years ago still wins; the contacts
    decided since are the orchestrator's to count, and the worker does not keep them."""
    adapter, clock, published = FakeChannelAdapter(), SimClock(NOW), Published()
    d = dispatcher(adapter, clock)
    years_ago = NOW - timedelta(days=3 * 365)
    stop = ConsentRevoked(
        party_id=BORROWER, channel=Channel.SMS, address=PHONE, received_at=years_ago
    )
    phone = Phone(number=PHONE, type=PhoneType.MOBILE)  # still theirs (P1-DEST)
    d.restore_ledger(
        0, entry(years_ago, event=BorrowerProfiled(party_id=BORROWER, name="Pat", phones=(phone,)))
    )
    d.restore_ledger(0, entry(years_ago, event=stop))
    for day in range(1, 500):
        at = years_ago + timedelta(days=day)
        d.restore_ledger(0, entry(at, derived=[decided(f"old-{day}", at)]))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    state = d.states[0].borrowers[BORROWER]
    assert (state.attempts, state.verdicts, state.timers) == ({}, {}, {})
    assert adapter.sent == []
    [outcome] = published.outcomes("att-1")
    assert (outcome["payload"]["outcome"], outcome["payload"]["detail"]) == (
        "cancelled",
        "consent:revoked",
    )
