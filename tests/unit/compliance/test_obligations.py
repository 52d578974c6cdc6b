"""Obligations with deadlines, proved after the fact: RF-20's validation notice, TC-3's SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.compliance.core import load_policy
from services.compliance.core.model import AttemptRecord
from services.compliance.core.obligations import deadline, rules_of, validation_notice_breaches

POLICY = load_policy("default")
[RF20] = rules_of(POLICY, ("US", "US-NY"), "validation_notice")
[TC3] = rules_of(POLICY, ("US",), "revocation_honoured")
T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def attempt(
    n: int,
    channel: Channel,
    purpose: Purpose,
    at: datetime,
    outcome: OutcomeKind | None = OutcomeKind.DELIVERED,
) -> AttemptRecord:
    return AttemptRecord(f"a{n}", "L1", channel, None, at, outcome, None, purpose)


def test_rules_come_from_the_us_federal_pack_and_not_from_china() -> None:
    assert (RF20.id, RF20.within_days) == ("RF-20", 5)
    assert (TC3.id, TC3.within_days, TC3.business_days) == ("TC-3", 10, True)
    assert rules_of(POLICY, ("CN",), "validation_notice") == []


@pytest.mark.parametrize(
    ("notice_after", "breached"),
    [
        (timedelta(0), False),  # in the initial communication
        (timedelta(days=5), False),  # on the fifth day after it
        (timedelta(days=5, minutes=1), True),  # too late
        (None, True),  # never
    ],
)
def test_the_validation_notice_is_due_within_five_days_of_the_first_communication(
    notice_after: timedelta | None, breached: bool
) -> None:
    history = [attempt(1, Channel.SMS, Purpose.COLLECTION, T0)]
    if notice_after is not None:
        history.append(attempt(2, Channel.LETTER, Purpose.VALIDATION_NOTICE, T0 + notice_after))

    found = validation_notice_breaches(RF20, "L1", history, None, T0 + timedelta(days=30))

    assert bool(found) is breached
    if breached:
        assert found[0].rule == "RF-20"


def test_an_unanswered_call_or_voicemail_is_an_attempt_not_a_communication() -> None:
    """RF-18: the clock starts with the first conversation or message, not with a dial."""
    history = [
        attempt(1, Channel.CALL, Purpose.COLLECTION, T0, OutcomeKind.VOICEMAIL_LEFT),
        attempt(
            2,
            Channel.CALL,
            Purpose.COLLECTION,
            T0 + timedelta(days=9),
            OutcomeKind.CONVERSATION_RIGHT_PARTY,
        ),
        attempt(3, Channel.EMAIL, Purpose.VALIDATION_NOTICE, T0 + timedelta(days=10)),
    ]

    assert validation_notice_breaches(RF20, "L1", history, None, T0 + timedelta(days=30)) == []


def test_no_breach_when_paid_before_the_deadline_or_when_the_log_ends_first() -> None:
    history = [attempt(1, Channel.SMS, Purpose.COLLECTION, T0)]

    paid = validation_notice_breaches(
        RF20, "L1", history, T0 + timedelta(days=2), T0 + timedelta(days=30)
    )
    early = validation_notice_breaches(RF20, "L1", history, None, T0 + timedelta(days=4))

    assert paid == early == []


@pytest.mark.parametrize("outcome", [OutcomeKind.EXPIRED, OutcomeKind.BOUNCED])
def test_a_notice_that_was_never_sent_or_came_back_does_not_count(outcome: OutcomeKind) -> None:
    history = [
        attempt(1, Channel.SMS, Purpose.COLLECTION, T0),
        attempt(2, Channel.EMAIL, Purpose.VALIDATION_NOTICE, T0, outcome),
    ]

    assert validation_notice_breaches(RF20, "L1", history, None, T0 + timedelta(days=30))


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Monday -> two weeks later, Monday (10 business days, no holiday between).
        (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), datetime(2026, 3, 16, 15, 0, tzinfo=UTC)),
        # Friday 2026-07-03 is the observed Independence Day: skipped.
        (datetime(2026, 6, 26, 15, 0, tzinfo=UTC), datetime(2026, 7, 13, 15, 0, tzinfo=UTC)),
        # Received on a Saturday: counting starts with Monday.
        (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), datetime(2026, 3, 20, 15, 0, tzinfo=UTC)),
    ],
)
def test_the_revocation_deadline_counts_us_business_days(received: datetime, due: datetime) -> None:
    assert deadline(TC3, received, "US") == due
