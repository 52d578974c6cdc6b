"""Nothing overdue, nothing chased: a debt brought up to date however the news comes, or one
legal has taken over, gets no collection contact from the strategy (session 14's review
reproduced each of these as a contact sent)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts import (
    ContactOutcomeRecorded,
    DelinquencyUpdated,
    InstalmentDue,
    PartyLinked,
    PaymentReceived,
    PlannedInstalment,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    RequestContact,
)
from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, PartyRole, Phone, PhoneType
from tests.unit.orchestrator.builders import (
    MOBILE,
    OUTCOMES,
    B,
    Feed,
    borrower,
    day,
    decisions,
    dpd,
    of_type,
    usd,
)
from tests.unit.orchestrator.test_lifecycle import _unanswered

NIGHT = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)  # 02:00 in New York: stage contacts wait


def _waiting(feed: Feed) -> None:
    """The servicer's snapshot of 03-16, 15 days past due on 50: the firm call and text are
    deferred to 08:00."""
    out = feed.send(
        B,
        DelinquencyUpdated(
            loan_id="L1", days_past_due=15, amount_overdue=usd(50), as_of=date(2026, 3, 16)
        ),
        NIGHT,
    )
    assert {d["verdict"] for d in decisions(out)} == {"deferred"}


def test_a_snapshot_reporting_the_debt_up_to_date_withdraws_the_waiting_contacts() -> None:
    """Paid by a route with no payment event, or before that event came: the servicer's word
    is enough."""
    feed = borrower()
    _waiting(feed)
    up_to_date = DelinquencyUpdated(
        loan_id="L1", days_past_due=0, amount_overdue=usd(0), as_of=date(2026, 3, 17)
    )

    out = feed.send(B, up_to_date, NIGHT + timedelta(hours=4))

    assert {d["reason"] for d in of_type(out, "contact.intent_dropped")} == {"arrears_paid"}
    assert feed.tick(NIGHT + timedelta(hours=6, minutes=5)).tasks == []


@pytest.mark.parametrize("payments", [(100,), (50, 50)], ids=["one", "two"])
def test_arrears_and_a_later_instalment_paid_in_any_number_of_payments_bring_it_up_to_date(
    payments: tuple[int, ...],
) -> None:
    """50 overdue at the snapshot, and an instalment of 50 that fell due since: paid as one
    payment or as two, the debt is up to date and the waiting contacts are withdrawn."""
    feed = borrower()
    feed.send(
        B,
        InstalmentDue(loan_id="L1", instalment_no=3, due_date=date(2026, 3, 16), amount=usd(50)),
        datetime(2026, 3, 6, 17, 0, tzinfo=UTC),
    )
    _waiting(feed)
    for i, amount in enumerate(payments):
        paid = PaymentReceived(loan_id="L1", amount=usd(amount), paid_in_full=False)
        feed.send(B, paid, NIGHT + timedelta(minutes=30 + 10 * i))

    assert feed.state(B).loans["L1"].current
    assert feed.tick(datetime(2026, 3, 17, 12, 5, tzinfo=UTC)).tasks == []


def test_paying_only_the_arrears_while_a_later_instalment_is_unpaid_is_not_up_to_date() -> None:
    feed = borrower()
    feed.send(
        B,
        InstalmentDue(loan_id="L1", instalment_no=3, due_date=date(2026, 3, 16), amount=usd(50)),
        datetime(2026, 3, 6, 17, 0, tzinfo=UTC),
    )
    _waiting(feed)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), NIGHT)

    assert not feed.state(B).loans["L1"].current


def test_a_promise_recorded_after_payment_in_full_brings_no_check() -> None:
    """The desk's record of the promise the payment kept arrives after it: there is nothing to
    check back on, and a check would tell the person they had not paid."""
    t = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    feed = borrower()
    feed.send(B, dpd(2, t.date()), t)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(500), paid_in_full=True), t)
    promise = PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 3))

    out = feed.send(B, promise, t + timedelta(minutes=5))

    assert not of_type(out, "timer.scheduled")
    assert feed.tick(datetime(2026, 3, 6, 16, 0, tzinfo=UTC)).tasks == []
    assert feed.state(B).loans["L1"].promises_broken == 0


HANDED_OFF = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)


def _handed_off() -> Feed:
    feed = borrower()
    assert of_type(feed.send(B, dpd(60, HANDED_OFF.date()), HANDED_OFF), "legal.handed_off")
    return feed


def test_a_promise_after_the_legal_hand_off_brings_no_check() -> None:
    """ADR 0007: the strategy asks nothing after the hand-off."""
    feed = _handed_off()
    promise = PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 5, 6))

    out = feed.send(B, promise, HANDED_OFF + timedelta(hours=1))

    assert not of_type(out, "timer.scheduled")
    assert feed.tick(datetime(2026, 5, 9, 14, 5, tzinfo=UTC)).tasks == []


def test_a_plan_after_the_legal_hand_off_brings_no_reminder() -> None:
    feed = _handed_off()
    instalment = PlannedInstalment(due_date=date(2026, 5, 20), amount=usd(25))
    plan = RepaymentPlanAgreed(loan_id="L1", instalments=(instalment,))

    out = feed.send(B, plan, HANDED_OFF + timedelta(hours=1))

    assert not of_type(out, "timer.scheduled")
    later = feed.tick(datetime(2026, 5, 19, 18, 5, tzinfo=UTC))
    assert [json.loads(t.value)["type"] for t in later.tasks] == []


def test_a_location_inquiry_waiting_when_the_borrower_is_reached_is_withdrawn() -> None:
    """Unreachable after three unanswered calls, the borrower's contact person is to be asked
    where they are, at 08:00 in Los Angeles. At 08:00 in New York the borrower answers the
    desk's call: asking a third party past that is a forbidden third-party communication
    (FDCPA 1692b, 1692c(b)), so the waiting inquiry is withdrawn."""
    feed = borrower()
    carl = PartyLinked(
        loan_id="L1",
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        name="Carl",
        addresses=(Address(country="US", region="CA", city="Los Angeles", postal_code="90012"),),
        phones=(Phone(number="+12135550123", type=PhoneType.HOME),),
    )
    feed.send(B, carl, day(0) - timedelta(hours=1))
    for n in range(3):
        _unanswered(feed, feed.send(B, dpd(n + 1, day(n).date()), day(n)), day(n))
    night = datetime(2026, 3, 7, 7, 0, tzinfo=UTC)  # 02:00 in New York
    [inquiry] = [
        d
        for d in decisions(feed.send(B, dpd(4, night.date()), night))
        if d["purpose"] == "location_inquiry"
    ]
    assert inquiry["verdict"] == "deferred"
    ask = RequestContact(
        request_id="r1", party_id=B, loan_id="L1", channel=Channel.CALL, to=MOBILE, requested_by="d"
    )
    [call] = decisions(feed.send(B, ask, datetime(2026, 3, 7, 13, 0, tzinfo=UTC)))
    answered = ContactOutcomeRecorded(
        attempt_id=call["attempt_id"],
        channel=Channel.CALL,
        outcome=OutcomeKind.CONVERSATION_RIGHT_PARTY,
        reported_at=datetime(2026, 3, 7, 13, 10, tzinfo=UTC),
    )

    out = feed.send(B, answered, datetime(2026, 3, 7, 13, 11, tzinfo=UTC), topic=OUTCOMES)

    assert [(d["attempt_id"], d["reason"]) for d in of_type(out, "contact.intent_dropped")] == [
        (inquiry["attempt_id"], "borrower_reached")
    ]
    assert feed.tick(datetime(2026, 3, 7, 16, 5, tzinfo=UTC)).tasks == []
