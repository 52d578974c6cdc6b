"""What happens to contacts waiting on a timer (deferred to 08:00, say) when the debt changes
under them: paid up to date, disputed, its borrower held, a promise kept during a plan; and
checks that must fire whatever there is to send (ADR 0007, core revision 9)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts import (
    AttorneyRepresented,
    BankruptcyFiled,
    CeaseRequested,
    ContactOutcomeRecorded,
    DeceasedReported,
    DisputeOpened,
    DisputeResolved,
    Message,
    PaymentReceived,
    PlannedInstalment,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    RequestContact,
    ThirdPartyRefused,
)
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.orchestrator.engine import Emitted
from tests.unit.orchestrator.builders import (
    NIGHT_NY,
    NOON_NY,
    OUTCOMES,
    B,
    Feed,
    borrower,
    channels,
    day,
    decisions,
    dpd,
    of_type,
    usd,
    with_guarantor,
)
from tests.unit.orchestrator.test_lifecycle import _unreachable_with_contact
from tests.unit.orchestrator.test_plan_checks import _landline_only

ARREARS = usd(50)  # what the builders' day-N snapshots say is overdue


def _paid_arrears() -> PaymentReceived:
    return PaymentReceived(loan_id="L1", amount=ARREARS, paid_in_full=False)


# -- paying what was overdue -------------------------------------------------------------------


def test_a_call_waiting_for_the_morning_is_withdrawn_when_the_arrears_are_paid() -> None:
    feed = borrower()
    night = feed.send(B, dpd(1, NIGHT_NY.date()), NIGHT_NY)  # 02:00 in New York: deferred
    assert [d["verdict"] for d in decisions(night)] == ["deferred"]

    paid = feed.send(B, _paid_arrears(), NIGHT_NY + timedelta(hours=1))
    morning = feed.tick(NIGHT_NY + timedelta(hours=6))

    assert feed.state(B).loans["L1"].current
    assert [p["reason"] for p in of_type(paid, "contact.intent_dropped")] == ["arrears_paid"]
    assert decisions(morning) == []
    assert morning.tasks == []


def test_the_formal_notice_waiting_for_the_morning_does_not_go_once_nothing_is_overdue() -> None:
    """It would say the account is 7 days past due with 0.00 outstanding."""
    feed = borrower()
    night = NIGHT_NY + timedelta(days=6)  # 02:00 on day 7
    feed.send(B, dpd(7, night.date()), night)
    feed.send(B, _paid_arrears(), night + timedelta(hours=1))

    morning = feed.tick(night + timedelta(hours=6))

    assert morning.tasks == []


def test_a_call_unanswered_after_the_arrears_were_paid_brings_no_text() -> None:
    feed = borrower()
    call = feed.send(B, dpd(1, NOON_NY.date()), NOON_NY)
    attempt = json.loads(call.tasks[0].value)["payload"]["attempt_id"]
    feed.send(B, _paid_arrears(), NOON_NY + timedelta(minutes=5))

    out = _outcome(feed, attempt, OutcomeKind.NO_ANSWER, NOON_NY + timedelta(minutes=10))

    assert channels(out) == []


def test_a_payment_that_leaves_arrears_withdraws_nothing() -> None:
    feed = borrower()
    feed.send(B, dpd(1, NIGHT_NY.date()), NIGHT_NY)

    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(20), paid_in_full=False),
        NIGHT_NY + timedelta(hours=1),
    )
    morning = feed.tick(NIGHT_NY + timedelta(hours=6))

    assert of_type(paid, "contact.intent_dropped") == []
    assert [d["verdict"] for d in decisions(morning)] == ["authorised"]


# -- calls not answered ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [OutcomeKind.NO_ANSWER, OutcomeKind.VOICEMAIL_LEFT])
def test_a_call_that_did_not_reach_the_person_is_followed_by_a_text(outcome: OutcomeKind) -> None:
    """无人接听的,通过短信通知: a voicemail reached a machine, not the person."""
    feed = borrower()
    call = feed.send(B, dpd(1, NOON_NY.date()), NOON_NY)
    attempt = json.loads(call.tasks[0].value)["payload"]["attempt_id"]

    out = _outcome(feed, attempt, outcome, NOON_NY + timedelta(minutes=1))

    assert channels(out) == [Channel.SMS]


# -- a dispute -------------------------------------------------------------------------------


@pytest.mark.parametrize("pause", ["promise", "dispute"])
def test_a_stage_contact_withdrawn_by_a_pause_while_it_waited_is_caught_up_after(
    pause: str,
) -> None:
    """The day-4 guarantor call, deferred at 02:00, and a pause at 07:30: whichever pause it
    was, the guarantor is called once collection resumes (a dispute used to let the gate
    suppress the call at 08:00, and the stage counted as run)."""
    feed = with_guarantor()
    feed.send(B, dpd(1, date(2026, 3, 4)), datetime(2026, 3, 4, 17, 0, tzinfo=UTC))
    night = datetime(2026, 3, 7, 7, 0, tzinfo=UTC)  # 02:00 EST on day 4
    feed.send(B, dpd(4, night.date()), night)
    paused: Message = (
        PromiseToPayMade(loan_id="L1", amount=ARREARS, promised_date=date(2026, 3, 8))
        if pause == "promise"
        else DisputeOpened(loan_id="L1")
    )
    out = feed.send(B, paused, night + timedelta(hours=5, minutes=30))
    fired = feed.tick(night + timedelta(hours=6))
    if pause == "dispute":
        feed.send(B, DisputeResolved(loan_id="L1"), datetime(2026, 3, 11, 17, 0, tzinfo=UTC))

    after = feed.send(B, dpd(9, date(2026, 3, 12)), datetime(2026, 3, 12, 17, 0, tzinfo=UTC))

    assert {p["reason"] for p in of_type(out, "contact.intent_dropped")} == {
        "promise_to_pay_made" if pause == "promise" else "dispute_opened"
    }
    assert [d for d in decisions(fired) if d["party_id"] == "g1"] == []
    assert "g1" in {d["party_id"] for d in decisions(after)}


# -- promises and plans ----------------------------------------------------------------------


def test_a_promise_kept_during_a_plan_is_not_checked_as_broken() -> None:
    feed = borrower()
    feed.send(B, dpd(5, NOON_NY.date()), NOON_NY)
    feed.send(B, _plan(date(2026, 3, 20), date(2026, 4, 20)), NOON_NY + timedelta(days=1))
    promise = PromiseToPayMade(loan_id="L1", amount=usd(25), promised_date=date(2026, 3, 10))
    feed.send(B, promise, NOON_NY + timedelta(days=2))

    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(25), paid_in_full=False),
        datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
    )
    check = feed.tick(datetime(2026, 3, 13, 16, 0, tzinfo=UTC))

    assert "promise_kept" in {p["reason"] for p in of_type(paid, "contact.intent_dropped")}
    assert check.tasks == []
    assert feed.state(B).loans["L1"].promises_broken == 0


def test_a_plan_listed_out_of_date_order_is_paid_earliest_first() -> None:
    feed = borrower()
    feed.send(B, dpd(5, NOON_NY.date()), NOON_NY)
    feed.send(B, _plan(date(2026, 4, 20), date(2026, 3, 20)), NOON_NY + timedelta(hours=1))

    feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(25), paid_in_full=False),
        datetime(2026, 3, 19, 16, 0, tzinfo=UTC),  # March's, a day early
    )
    out = feed.tick(datetime(2026, 3, 23, 15, 0, tzinfo=UTC))

    assert of_type(out, "repayment_plan.broken") == []


@pytest.mark.parametrize("reachable_by_text", [True, False])
def test_a_promise_not_kept_is_counted_broken_with_or_without_a_mobile(
    reachable_by_text: bool,
) -> None:
    """With no number to text, the check fires all the same (a check with no message), so the
    promise ends and the segments read it as broken."""
    feed = borrower() if reachable_by_text else _landline_only()
    feed.send(B, dpd(3, NOON_NY.date()), NOON_NY)
    promise = PromiseToPayMade(loan_id="L1", amount=ARREARS, promised_date=date(2026, 3, 5))
    feed.send(B, promise, NOON_NY + timedelta(hours=1))

    fired = feed.tick(datetime(2026, 3, 8, 15, 30, tzinfo=UTC))  # promised, grace, then 10:00

    loan = feed.state(B).loans["L1"]
    assert (loan.promises_broken, loan.promise) == (1, None)
    assert channels(fired) == ([Channel.SMS] if reachable_by_text else [])


def test_a_promise_in_force_holds_the_legal_hand_off() -> None:
    """A plan being kept pauses the road to legal; so does a promise until its date and grace."""
    feed = borrower()
    day58 = NOON_NY + timedelta(days=57)
    feed.send(B, dpd(58, day58.date()), day58)
    promise = PromiseToPayMade(
        loan_id="L1", amount=ARREARS, promised_date=(day58 + timedelta(days=3)).date()
    )
    feed.send(B, promise, day58 + timedelta(hours=1))

    day60 = NOON_NY + timedelta(days=59)
    held = feed.send(B, dpd(60, day60.date()), day60)
    day64 = NOON_NY + timedelta(days=63)  # promised day 61, two days' grace, still not paid
    handed = feed.send(B, dpd(64, day64.date()), day64)

    assert of_type(held, "legal.handed_off") == []
    assert len(of_type(handed, "legal.handed_off")) == 1


# -- asking others where the borrower is -----------------------------------------------------

HOLDS: dict[str, Message] = {
    "attorney": AttorneyRepresented(party_id=B, loan_id="L1"),
    "cease": CeaseRequested(party_id=B, loan_id="L1"),
    "bankruptcy": BankruptcyFiled(party_id=B, chapter=7),
    "deceased": DeceasedReported(party_id=B),
    "refusal": ThirdPartyRefused(party_id="c1", reported_at=day(3) - timedelta(hours=9)),
}


@pytest.mark.parametrize("hold", list(HOLDS))
def test_a_location_inquiry_waiting_for_the_morning_is_withdrawn_by_the_borrowers_hold(
    hold: str,
) -> None:
    """The gate holds only the person asked (the contact, who has no hold): the borrower's
    attorney, cease, bankruptcy or death stops third-party contact about them (1692b(6)), and
    a person who refused is not asked again (CN-3)."""
    feed = borrower()
    _unreachable_with_contact(feed)
    night = day(3) - timedelta(hours=10)  # 02:00 in New York
    asked = feed.send(B, dpd(4, night.date()), night)
    assert ("c1", "deferred") in {(d["party_id"], d["verdict"]) for d in decisions(asked)}

    held = feed.send(B, HOLDS[hold], night + timedelta(hours=1))
    fired = feed.tick(day(3) + timedelta(hours=3))

    assert "third_party_contact_held" in {
        p["reason"] for p in of_type(held, "contact.intent_dropped")
    }
    assert [d for d in decisions(fired) if d["party_id"] == "c1"] == []


def test_a_desk_asking_a_contact_where_a_represented_borrower_is_is_declined() -> None:
    feed = borrower()
    _unreachable_with_contact(feed)
    feed.send(B, AttorneyRepresented(party_id=B, loan_id="L1"), day(2))

    out = feed.send(
        B,
        RequestContact(
            request_id="desk-1",
            party_id="c1",
            loan_id="L1",
            channel=Channel.CALL,
            purpose=Purpose.LOCATION_INQUIRY,
            requested_by="desk",
        ),
        day(3),
    )

    assert decisions(out) == []
    assert [(p["reason"], p["request_id"]) for p in of_type(out, "contact.intent_dropped")] == [
        ("third_party_contact_held", "desk-1")
    ]


def _outcome(feed: Feed, attempt: str, outcome: OutcomeKind, at: datetime) -> Emitted:
    return feed.send(
        B,
        ContactOutcomeRecorded(
            attempt_id=attempt, channel=Channel.CALL, outcome=outcome, reported_at=at
        ),
        at,
        topic=OUTCOMES,
    )


def _plan(*due: date) -> RepaymentPlanAgreed:
    """25 a month, listed in the order given."""
    instalments = tuple(PlannedInstalment(due_date=d, amount=usd(25)) for d in due)
    return RepaymentPlanAgreed(loan_id="L1", instalments=instalments)
