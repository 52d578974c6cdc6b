"""Obligations with deadlines, proved after the fact: RF-20's validation notice, TC-3's SLA."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.compliance.core import load_policy
from services.compliance.core.model import AttemptRecord
from services.compliance.core.obligations import (
    add_business_days,
    applies,
    deadline,
    is_business_day,
    rules_of,
    validation_notice_breaches,
)

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


# -- TC-3: 10 US business days, from pack data -------------------------------------------------

EASTERN = ZoneInfo("America/New_York")


def test_weekends_and_observed_federal_holidays_are_not_business_days() -> None:
    assert is_business_day("US", date(2026, 7, 2))  # Thursday
    assert not is_business_day("US", date(2026, 7, 3))  # Independence Day (observed)
    assert not is_business_day("US", date(2026, 7, 4))  # Saturday, and the day itself
    assert not is_business_day("US", date(2026, 11, 26))  # Thanksgiving


@pytest.mark.parametrize(
    ("received", "tenth"),
    [
        (date(2026, 7, 3), date(2026, 7, 17)),  # on the observed holiday: from the Monday after
        (date(2026, 7, 2), date(2026, 7, 17)),  # the day before: the holiday is skipped
        (date(2026, 11, 25), date(2026, 12, 10)),  # Thanksgiving skipped
        (date(2026, 3, 7), date(2026, 3, 20)),  # a Saturday: counting starts with Monday
    ],
)
def test_ten_business_days_after_receipt(received: date, tenth: date) -> None:
    assert add_business_days("US", received, 10) == tenth


def test_the_deadline_is_the_end_of_the_tenth_business_day_in_eastern_time() -> None:
    received = datetime(2026, 7, 2, 15, 0, tzinfo=UTC)
    late_thursday = datetime(2026, 7, 3, 2, 0, tzinfo=UTC)  # 22:00 Thursday in New York

    assert deadline(TC3, received) == datetime(2026, 7, 18, 0, 0, tzinfo=EASTERN)
    assert deadline(TC3, late_thursday) == datetime(2026, 7, 18, 0, 0, tzinfo=EASTERN)


def test_tc3_covers_calls_and_texts_received_since_it_came_into_force() -> None:
    after = datetime(2025, 4, 11, 12, 0, tzinfo=UTC)

    assert applies(TC3, Channel.SMS, after)
    assert applies(TC3, Channel.CALL, after)
    assert not applies(TC3, Channel.EMAIL, after)
    assert not applies(TC3, Channel.SMS, after - timedelta(days=1))


def test_a_calendar_day_obligation_counts_plain_days() -> None:
    assert deadline(RF20, T0) == T0 + timedelta(days=5)
