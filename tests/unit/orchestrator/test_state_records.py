"""What state hands the gate: attempt records kept while they hold, times read from the log kept
with one tzinfo per offset, and nothing of either changing what the gate is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contracts import ContactDecided, ContactOutcomeRecorded
from contracts.decisions import Evidence, Verdict, Window
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import Attempt, BorrowerState

AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def _attempt() -> Attempt:
    return Attempt("a1", "p1", "L1", Channel.SMS, "+12125550147", Purpose.COLLECTION, AT)


def test_an_attempt_record_is_kept_until_its_outcome_changes() -> None:
    attempt = _attempt()
    first = attempt.record()

    assert attempt.record() is first

    attempt.outcome, attempt.outcome_at = OutcomeKind.DELIVERED, AT + timedelta(minutes=1)
    second = attempt.record()

    assert second is not first
    assert (second.outcome, second.outcome_at) == (OutcomeKind.DELIVERED, AT + timedelta(minutes=1))


def test_an_attempt_record_follows_any_field_it_copies() -> None:
    attempt = _attempt()
    attempt.record()

    attempt.at = AT + timedelta(hours=1)
    attempt.to = "+12125550148"

    record = attempt.record()
    assert (record.at, record.to) == (AT + timedelta(hours=1), "+12125550148")


def _decided_json(decided_at: str) -> ContactDecided:
    decided = ContactDecided(
        attempt_id="a1",
        party_id="p1",
        loan_id="L1",
        channel=Channel.SMS,
        to="+12125550147",
        purpose=Purpose.COLLECTION,
        verdict=Verdict.AUTHORISED,
        evidence=Evidence(candidate_zones=(), window=Window(opens_at=None, closes_at=None)),
        policy_version="v1",
        decided_at=AT,
    )
    text = decided.model_dump_json().replace('"2026-03-03T15:00:00Z"', f'"{decided_at}"')
    return ContactDecided.model_validate_json(text)


def test_times_read_from_the_log_are_folded_with_one_tzinfo_per_offset() -> None:
    """As parsed, each time has a tzinfo object of its own; folded, the same instant, offset
    and text, with the one ``datetime.timezone`` of that offset."""
    for text in ("2026-03-03T15:00:00Z", "2026-03-03T23:00:00+08:00"):
        one, two = BorrowerState("b1"), BorrowerState("b1")
        m1, m2 = _decided_json(text), _decided_json(text)
        assert m1.decided_at.tzinfo is not m2.decided_at.tzinfo

        evolve(one, m1, AT)
        evolve(two, m2, AT)

        a, b = one.attempts["a1"].at, two.attempts["a1"].at
        assert a.tzinfo is b.tzinfo
        assert type(a.tzinfo) is timezone
        assert (a, a.isoformat()) == (m1.decided_at, m1.decided_at.isoformat())


def test_a_reported_outcome_time_is_folded_with_one_tzinfo_per_offset() -> None:
    state = BorrowerState("b1")
    evolve(state, _decided_json("2026-03-03T15:00:00Z"), AT)
    reported = ContactOutcomeRecorded.model_validate_json(
        ContactOutcomeRecorded(
            attempt_id="a1", channel=Channel.SMS, outcome=OutcomeKind.DELIVERED, reported_at=AT
        ).model_dump_json()
    )

    evolve(state, reported, AT)

    outcome_at = state.attempts["a1"].outcome_at
    assert outcome_at == AT
    assert outcome_at is not None
    assert outcome_at.tzinfo is UTC
