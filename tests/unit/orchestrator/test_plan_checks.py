"""The strategy's course for a debt, checked end to end: a repayment plan always ends (kept or
broken) whatever the borrower's addresses, dates or playbook; the playbook's stages are neither
lost to a skipped day or a pause nor repeated, in every delinquency episode; and an unanswered
call does not repeat a text the stage already sent that day."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import (
    BorrowerProfiled,
    ContactOutcomeRecorded,
    DelinquencyUpdated,
    LoanOpened,
    PaymentReceived,
    PlannedInstalment,
    PromiseToPayMade,
    RepaymentPlanAgreed,
)
from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, Email, Phone, PhoneType
from tests.unit.orchestrator.builders import (
    EMAIL,
    OUTCOMES,
    T0,
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

LANDLINE = "+15185550148"


def _landline_only() -> Feed:
    """A borrower with a home phone and an email, no mobile: nothing can be texted to her."""
    feed = Feed()
    profile = BorrowerProfiled(
        party_id=B,
        name="Ann",
        addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
        phones=(Phone(number=LANDLINE, type=PhoneType.HOME),),
        emails=(Email(address=EMAIL),),
    )
    feed.send(B, profile, T0 - timedelta(days=1))
    loan = LoanOpened(loan_id="L1", product="p", principal=usd(500), third_party_collector=False)
    feed.send(B, loan, T0 - timedelta(days=1))
    return feed


def _plan(feed: Feed, *dues: date) -> Any:
    plan = RepaymentPlanAgreed(
        loan_id="L1",
        instalments=tuple(PlannedInstalment(due_date=d, amount=usd(25)) for d in dues),
    )
    return feed.send(B, plan, day(0))


def _tasks(out: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(json.loads(t.value)["type"], json.loads(t.value)["payload"]) for t in out.tasks]


# -- a plan always ends ---------------------------------------------------------------------


def test_a_plan_is_checked_when_the_broken_plan_text_cannot_be_sent() -> None:
    """No mobile: no broken-plan text, but the check still ends the plan, collection resumes
    and the debt reaches legal."""
    feed = _landline_only()

    agreed = _plan(feed, date(2026, 3, 20), date(2026, 4, 20))
    # 2026-03-23 10:00 EDT: the day after the first instalment's 2-day grace.
    broken = feed.tick(datetime(2026, 3, 23, 14, 0, tzinfo=UTC))
    resumed = feed.send(B, dpd(22, date(2026, 3, 24)), datetime(2026, 3, 24, 16, 0, tzinfo=UTC))
    legal = feed.send(B, dpd(60, date(2026, 5, 1)), datetime(2026, 5, 1, 16, 0, tzinfo=UTC))

    checks = [t for t in of_type(agreed, "timer.scheduled") if t["reason"] == "plan_check"]
    assert [c["due_at"] for c in checks] == ["2026-03-23T14:00:00Z", "2026-04-23T14:00:00Z"]
    assert of_type(broken, "repayment_plan.broken") == [
        {"loan_id": "L1", "missed_due_date": "2026-03-20"}
    ]
    assert decisions(broken) == []  # nothing to send it to: the check only ends the plan
    assert channels(resumed) == [Channel.CALL]  # the firm stage again, by landline
    assert len(of_type(legal, "legal.handed_off")) == 1


def test_paying_withdraws_a_check_that_carries_no_text() -> None:
    feed = _landline_only()
    _plan(feed, date(2026, 3, 20))

    paid = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(25), paid_in_full=False), day(1))
    later = feed.tick(datetime(2026, 4, 1, 14, 0, tzinfo=UTC))

    assert [d["reason"] for d in of_type(paid, "contact.intent_dropped")] == ["instalment_paid"]
    assert of_type(paid, "repayment_plan.completed") == [{"loan_id": "L1"}]
    assert later.ledger == []


def test_a_plan_whose_checks_have_all_passed_when_agreed_is_checked_at_once() -> None:
    """Every instalment (and its grace) already past: the last check is due at once, not
    skipped; a plan with no check left would pause collection for good."""
    feed = borrower()

    agreed = _plan(feed, date(2026, 2, 10), date(2026, 2, 20))
    broken = feed.tick(day(0) + timedelta(minutes=1))

    [check] = of_type(agreed, "timer.scheduled")
    assert (check["reason"], check["due_at"]) == ("plan_check", "2026-03-03T17:00:00Z")
    assert of_type(broken, "repayment_plan.broken") == [
        {"loan_id": "L1", "missed_due_date": "2026-02-20"}
    ]
    [(kind, sms)] = _tasks(broken)
    assert kind == "task.sms"
    assert "2026-02-20" in sms["body"]


def test_a_playbook_without_a_plan_section_still_checks_its_plans() -> None:
    feed = borrower()
    ctx = feed.engine.ctx
    feed.engine.ctx = dataclasses.replace(
        ctx, playbook=ctx.playbook.model_copy(update={"plan": None})
    )

    agreed = _plan(feed, date(2026, 3, 20))
    broken = feed.tick(datetime(2026, 3, 23, 14, 0, tzinfo=UTC))

    [check] = of_type(agreed, "timer.scheduled")  # no reminder: the playbook names none
    assert (check["reason"], check["due_at"]) == ("plan_check", "2026-03-23T14:00:00Z")
    assert of_type(broken, "repayment_plan.broken") == [
        {"loan_id": "L1", "missed_due_date": "2026-03-20"}
    ]
    assert decisions(broken) == []


# -- stages: none lost to a skipped day or a pause, none repeated ---------------------------


def _notices(out: Any) -> list[str]:
    """The notice stage's contacts authorised (and so sent) by this decision, by channel."""
    return sorted(
        d["channel"]
        for d in decisions(out)
        if d["stage"] == "notice" and d["verdict"] == "authorised"
    )


def test_a_promise_pause_across_day_seven_sends_the_notice_on_the_first_day_after() -> None:
    """Promised for day 6, paused to day 8 (grace): the one-day notice stage (day 7) runs on
    day 9, once."""
    feed = borrower()
    feed.send(B, dpd(5, day(4).date()), day(4))
    feed.send(
        B, PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=day(5).date()), day(4)
    )

    notices = {}
    for n in range(6, 15):
        feed.tick(day(n - 1))
        notices[n] = _notices(feed.send(B, dpd(n, day(n - 1).date()), day(n - 1)))

    assert {n: kinds for n, kinds in notices.items() if kinds} == {9: ["email", "letter"]}


def test_a_day_the_feed_skips_does_not_lose_the_notice() -> None:
    feed = borrower()
    feed.send(B, dpd(6, day(5).date()), day(5))

    eighth = feed.send(B, dpd(8, day(7).date()), day(7))  # day 7 never reported
    ninth = feed.send(B, dpd(9, day(8).date()), day(8))

    assert _notices(eighth) == ["email", "letter"]
    assert decisions(ninth) == []


def test_once_collection_has_begun_a_week_long_gap_skips_no_stage() -> None:
    """Days 1-3 ran; the feed is silent until day 16: the notice (day 7) and the firm stage
    (day 15) both run then, each once."""
    feed = borrower()
    for n in (1, 2, 3):
        feed.send(B, dpd(n, day(n - 1).date()), day(n - 1))

    sixteenth = feed.send(B, dpd(16, day(15).date()), day(15))
    seventeenth = feed.send(B, dpd(17, day(16).date()), day(16))

    assert sorted(channels(sixteenth)) == [
        Channel.CALL,
        Channel.EMAIL,
        Channel.LETTER,
        Channel.SMS,
    ]
    assert {d["stage"] for d in decisions(sixteenth)} == {"notice", "firm"}
    assert decisions(seventeenth) == []


def test_a_debt_first_seen_late_starts_at_the_stage_it_has_reached() -> None:
    """Not every earlier stage at once: a debt first reported at day 16 gets the firm stage."""
    feed = borrower()

    out = feed.send(B, dpd(16, day(15).date()), day(15))

    assert {d["stage"] for d in decisions(out)} == {"firm"}


def test_a_debt_that_falls_behind_again_is_collected_again() -> None:
    """A new delinquency episode reaches the same days past due; its contacts are new ones,
    not taken for redeliveries of last month's."""
    feed = borrower()
    first = feed.send(B, dpd(1, day(0).date()), day(0))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), day(1))
    current = DelinquencyUpdated(
        loan_id="L1", days_past_due=0, amount_overdue=usd(0), as_of=day(1).date()
    )
    feed.send(B, current, day(1))

    again = feed.send(B, dpd(1, day(31).date()), day(31))
    repeated = feed.send(B, dpd(1, day(31).date()), day(31) + timedelta(hours=1))

    assert channels(first) == channels(again) == [Channel.CALL]
    assert decisions(first)[0]["attempt_id"] != decisions(again)[0]["attempt_id"]
    assert decisions(repeated) == []  # the same day reported twice is still one call


# -- an unanswered call does not repeat the stage's own text --------------------------------


def _no_answer(feed: Feed, out: Any, at: datetime) -> Any:
    [call] = [d for d in decisions(out) if d["channel"] == "call"]
    outcome = ContactOutcomeRecorded(
        attempt_id=call["attempt_id"],
        channel=Channel.CALL,
        outcome=OutcomeKind.NO_ANSWER,
        reported_at=at,
    )
    return feed.send(B, outcome, at, topic=OUTCOMES)


def test_an_unanswered_firm_call_does_not_send_the_firm_text_twice_in_a_day() -> None:
    feed = borrower()
    firm = feed.send(B, dpd(15, day(14).date()), day(14))

    after = _no_answer(feed, firm, day(14) + timedelta(minutes=5))

    assert sorted(channels(firm)) == [Channel.CALL, Channel.SMS]
    assert decisions(after) == []


def test_an_unanswered_call_reported_after_the_next_update_is_followed_by_a_text() -> None:
    """The stage's text went yesterday: today's follow-up is not a second copy the same day."""
    feed = borrower()
    firm = feed.send(B, dpd(15, day(14).date()), day(14))
    feed.send(B, dpd(16, day(15).date()), day(15))

    after = _no_answer(feed, firm, day(15) + timedelta(minutes=5))

    assert channels(after) == [Channel.SMS]


def test_a_promise_made_during_a_plan_leaves_the_plans_checks() -> None:
    """A promise pauses collection contacts; the plan's checks are what end a plan nobody pays,
    so they stay, and the missed instalment still breaks the plan."""
    feed = _landline_only()
    _plan(feed, date(2026, 3, 20))
    promised = feed.send(
        B,
        PromiseToPayMade(loan_id="L1", amount=usd(25), promised_date=date(2026, 3, 19)),
        day(1),
    )

    broken = feed.tick(datetime(2026, 3, 23, 14, 0, tzinfo=UTC))

    assert of_type(promised, "contact.intent_dropped") == []
    assert of_type(broken, "repayment_plan.broken") == [
        {"loan_id": "L1", "missed_due_date": "2026-03-20"}
    ]


def test_a_stage_contact_withdrawn_by_a_promise_while_it_waited_is_caught_up_after() -> None:
    """Day 4's guarantor call, deferred at 02:00, is withdrawn by a promise at 07:30: it was
    never made, so the guarantor stage has not run, and after the pause it is asked."""
    feed = with_guarantor()
    feed.send(B, dpd(1, date(2026, 3, 4)), datetime(2026, 3, 4, 17, 0, tzinfo=UTC))
    night = datetime(2026, 3, 7, 7, 0, tzinfo=UTC)  # 02:00 EST on day 4
    deferred = feed.send(B, dpd(4, night.date()), night)
    feed.send(
        B,
        PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 8)),
        night + timedelta(hours=5, minutes=30),
    )
    feed.tick(night + timedelta(hours=6))

    after = feed.send(B, dpd(9, date(2026, 3, 12)), datetime(2026, 3, 12, 17, 0, tzinfo=UTC))

    assert [(d["party_id"], d["verdict"]) for d in decisions(deferred)] == [("g1", "deferred")]
    assert "g1" in {d["party_id"] for d in decisions(after)}
