"""The engine's delivery semantics, without a broker: one ledger entry per input, redelivery
recognised, state a pure projection of the ledger, and the same inputs giving the same ledger."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    DelinquencyUpdated,
    DispatchStarted,
    InstalmentDue,
    LoanOpened,
)
from contracts.values import Channel
from events.deadletter import DeadLetter
from events.partitioning import partition_for
from events.records import Record
from services.orchestrator.core.decide import fire_timers
from services.orchestrator.engine import Orchestrator
from services.simulation.portfolio import generate
from tests.unit.orchestrator.builders import (
    MOBILE,
    OUTCOMES,
    PARTITIONS,
    T0,
    UPSTREAM,
    Feed,
    engine,
    ny_profile,
    usd,
)


def _canonical(e: Orchestrator) -> dict[int, tuple[object, ...]]:
    """Everything the engine knows, compared by value (dataclass and set equality).

    The partition clock is left out on purpose: a tick that fires nothing writes no entry, so a
    restored clock starts at the last entry's ``now``; every decision records the clock it used,
    so this never changes what an audit re-derives (P5).
    """
    return {
        p: (ps.borrowers, ps.applied, set(ps.undispatched)) for p, ps in sorted(e.states.items())
    }


def _run_portfolio(feed: Feed, n: int = 25, days: int = 12) -> None:
    portfolio = generate(n, days=days, seed=3)
    t = portfolio.start
    events = iter(portfolio.events)
    pending = next(events, None)
    while t < portfolio.start + timedelta(days=days):
        t += timedelta(hours=1)
        while pending is not None and pending.at <= t:
            feed.send(pending.borrower_id, pending.message, pending.at)
            pending = next(events, None)
        feed.tick(t)


def test_every_input_yields_exactly_one_ledger_entry_or_dead_letter() -> None:
    """P3 at the engine: inputs in = ledger entries with an input ref + dead letters."""
    feed = Feed()

    _run_portfolio(feed)

    refs = [json.loads(o.value)["input"] for o in feed.ledger]
    applied = {(r["topic"], r["partition"], r["offset"]) for r in refs if r}
    assert len(applied) == sum(1 for r in refs if r)  # no input twice
    assert len(applied) + len(feed.dead) == sum(feed.offsets.values())


def test_state_restored_from_the_ledger_equals_the_live_state() -> None:
    """State is a projection of the ledger: replaying the entries rebuilds it exactly."""
    live = Feed()
    _run_portfolio(live)
    restored = engine()

    for out in live.ledger:
        restored.restore(out.partition, out.value)

    assert _canonical(restored) == _canonical(live.engine)


def test_the_same_inputs_give_a_byte_identical_ledger() -> None:
    """P5's foundation: no hidden clock, randomness or iteration order in decide/evolve."""
    first, second = Feed(), Feed()

    _run_portfolio(first)
    _run_portfolio(second)

    assert [o.value for o in first.ledger] == [o.value for o in second.ledger]
    assert [o.value for o in first.tasks] == [o.value for o in second.tasks]


def test_a_redelivered_input_is_recognised_and_only_its_tasks_are_published_again() -> None:
    """P2: a record seen again after a crash writes no second entry and reserves nothing new."""
    feed = Feed()
    feed.send("b1", BorrowerProfiled(**ny_profile("b1")), T0)
    feed.send(
        "b1",
        ConsentGranted(party_id="b1", channel=Channel.CALL, address=MOBILE, received_at=T0),
        T0,
    )
    feed.send("b1", LoanOpened(loan_id="L1", product="p", principal=usd(500)), T0)
    record = feed.record(
        "b1",
        DelinquencyUpdated(loan_id="L1", days_past_due=1, amount_overdue=usd(50), as_of=T0.date()),
        T0,
    )
    first = feed.apply(record)

    again = feed.apply(record)

    assert len(first.ledger) == 1
    assert first.tasks  # the day-1 call
    assert again.ledger == []
    assert [t.value for t in again.tasks] == [t.value for t in first.tasks]


def test_a_duplicate_event_id_at_a_new_offset_is_recorded_but_has_no_effect() -> None:
    """Upstream producers retry: the same event id twice is one fact."""
    feed = Feed()
    feed.send("b1", BorrowerProfiled(**ny_profile("b1")), T0)
    feed.send("b1", LoanOpened(loan_id="L1", product="p", principal=usd(500)), T0)
    due = InstalmentDue(
        loan_id="L1", instalment_no=1, due_date=(T0 + timedelta(days=3)).date(), amount=usd(50)
    )
    first = feed.send("b1", due, T0, event_id="evt-due-1")

    second = feed.send("b1", due, T0 + timedelta(minutes=1), event_id="evt-due-1")

    entry = json.loads(second.ledger[0].value)
    assert entry["duplicate"] is True
    assert entry["derived"] == []
    assert json.loads(first.ledger[0].value)["derived"]  # the first scheduled the reminder timers


def test_tasks_without_dispatch_evidence_are_re_published_after_a_restore() -> None:
    """A crash between the ledger write and the task publish loses no contact; a task whose
    dispatch came back is not re-published."""
    feed = Feed()
    feed.send("b1", BorrowerProfiled(**ny_profile("b1")), T0)
    feed.send(
        "b1",
        ConsentGranted(party_id="b1", channel=Channel.CALL, address=MOBILE, received_at=T0),
        T0,
    )
    feed.send(
        "b1", ConsentGranted(party_id="b1", channel=Channel.SMS, address=MOBILE, received_at=T0), T0
    )
    loan = LoanOpened(loan_id="L1", product="p", principal=usd(500), third_party_collector=False)
    feed.send("b1", loan, T0)  # a first-party lender: no validation notice tasks (RF-20)
    call = feed.send(
        "b1",
        DelinquencyUpdated(loan_id="L1", days_past_due=1, amount_overdue=usd(50), as_of=T0.date()),
        T0,
    )
    attempt = json.loads(call.tasks[0].value)["payload"]["attempt_id"]
    partition = call.tasks[0].partition

    restored = engine()
    for out in feed.ledger:
        restored.restore(out.partition, out.value)
    assert [t.value for t in restored.pending_tasks(partition)] == [call.tasks[0].value]

    feed.send(
        "b1",
        DispatchStarted(attempt_id=attempt, channel=Channel.CALL, vendor="v", started_at=T0),
        T0,
        topic=OUTCOMES,
    )
    restored_again = engine()
    for out in feed.ledger:
        restored_again.restore(out.partition, out.value)
    assert restored_again.pending_tasks(partition) == []


def test_a_record_on_the_wrong_partition_for_its_key_is_dead_lettered() -> None:
    """Single writer per borrower: a misrouted record would split a borrower's state."""
    feed = Feed()
    good = feed.record("b1", BorrowerProfiled(**ny_profile("b1")), T0)
    wrong = Record(UPSTREAM, (good.partition + 1) % PARTITIONS, 0, good.key, good.value)

    out = feed.apply(wrong)

    assert out.ledger == []
    assert json.loads(out.deadletters[0].value)["reason"] == "misrouted"


def test_an_input_dated_beyond_the_allowed_skew_is_dead_lettered_and_moves_no_clock() -> None:
    """Live (wall clock), one input dated next year must not carry every borrower on its
    partition into next year, where a call tonight at 02:00 would fall inside the window (P1)."""
    feed = Feed()
    wall = T0 + timedelta(hours=3)
    ahead = feed.record(
        "b-1", LoanOpened(loan_id="L-1", product="p", principal=usd(100)), T0 + timedelta(days=365)
    )
    near = feed.record(
        "b-1",
        LoanOpened(loan_id="L-2", product="p", principal=usd(100)),
        wall + timedelta(minutes=4),
    )
    feed.engine.assign(ahead.partition)

    refused = feed.engine.process(ahead, wall)
    accepted = feed.engine.process(near, wall)

    assert [json.loads(d.value)["reason"] for d in refused.deadletters] == ["future_dated"]
    assert refused.ledger == []
    assert len(accepted.ledger) == 1  # within the five minutes allowed
    assert feed.engine.states[ahead.partition].clock == wall + timedelta(minutes=4)


def test_a_dead_letter_for_an_oversized_input_carries_its_head_size_and_digest() -> None:
    """The dead letter must fit in a request, or it is lost with the input (P3)."""
    feed = Feed()
    big = Record(UPSTREAM, 0, 0, b"b-1", b"x" * (engine().max_record_bytes * 3))
    feed.engine.assign(0)

    out = feed.engine.process(big)

    (letter,) = [DeadLetter.model_validate_json(d.value) for d in out.deadletters]
    assert letter.reason == "oversized"
    assert letter.value_truncated
    assert letter.value_size == len(big.value or b"")
    assert letter.value_sha256 == hashlib.sha256(big.value or b"").hexdigest()
    assert letter.original_value() == b"x" * (2 * engine().max_record_bytes)


def test_a_timer_that_cannot_fire_is_set_aside_and_every_other_timer_still_fires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A timer that raises (a bug) would raise again after every restore; stopping the service
    for it would stop every instance in turn, and every STOP with them."""
    feed = Feed()
    first = "b1"
    partition = partition_for(first.encode(), PARTITIONS)
    second = next(
        b
        for b in (f"b{n}" for n in range(2, 100))
        if partition_for(b.encode(), PARTITIONS) == partition
    )
    for b in (first, second):
        feed.send(b, BorrowerProfiled(**ny_profile(b)), T0)
        feed.send(b, LoanOpened(loan_id="L1", product="p", principal=usd(500)), T0)
        feed.send(
            b,
            InstalmentDue(
                loan_id="L1",
                instalment_no=1,
                due_date=(T0 + timedelta(days=3)).date(),
                amount=usd(50),
            ),
            T0,
        )

    def fire(state: Any, now: Any, ctx: Any) -> Any:
        if state.borrower_id == first:
            raise RuntimeError("a bug in a timer")
        return fire_timers(state, now, ctx)

    monkeypatch.setattr("services.orchestrator.engine.fire_timers", fire)
    out = feed.tick(T0 + timedelta(days=5))

    assert {json.loads(e.value)["borrower_id"] for e in out.ledger} == {second}
    assert feed.engine.states[partition].dirty  # rebuilt from the ledger by the shell
    assert set(feed.engine.set_aside) == {first}

    feed.engine.assign(partition)  # as the shell's restore does
    for entry in feed.ledger:
        if entry.partition == partition:
            feed.engine.restore(partition, entry.value)
    later = feed.tick(T0 + timedelta(days=6))

    assert first not in {json.loads(e.value)["borrower_id"] for e in later.ledger}
    assert not feed.engine.states[partition].dirty
