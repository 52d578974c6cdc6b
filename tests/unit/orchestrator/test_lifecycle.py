"""The strategy's later life: validation notice and letters, the legal hand-off, repayment
plans, and the four segments choosing tone, cadence and contact persons."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import (
    ContactOutcomeRecorded,
    DelinquencyUpdated,
    PartyLinked,
    PaymentReceived,
    PlannedInstalment,
    RepaymentPlanAgreed,
    ThirdPartyRefused,
)
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Money, PartyRole, Phone, PhoneType
from services.strategy.core.playbook import (
    PlaybookError,
    check_playbook,
    load_playbook,
    load_strategy,
    load_templates,
)
from tests.unit.orchestrator.builders import (
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
)


def _tasks(feed_out: Any, type_: str) -> list[dict[str, Any]]:
    return [
        json.loads(t.value)["payload"]
        for t in feed_out.tasks
        if json.loads(t.value)["type"] == type_
    ]


# -- RF-20 and letters ----------------------------------------------------------------------


def test_a_collectors_first_communication_brings_the_validation_notice_by_email_and_letter() -> (
    None
):
    """RF-20: in the initial communication (or within 5 days). Asked once per debt."""
    feed = borrower(collector=True)

    first = feed.send(B, dpd(1, day(0).date()), day(0))
    second = feed.send(B, dpd(2, day(1).date()), day(1))

    assert [(d["channel"], d["purpose"], d["verdict"]) for d in decisions(first)] == [
        ("call", "collection", "authorised"),
        ("email", "validation_notice", "authorised"),
        ("letter", "validation_notice", "authorised"),
    ]
    [letter] = _tasks(first, "task.letter")
    assert letter["to"]["city"] == "Albany"
    assert letter["recipient"] == "Ann"
    assert "debt collector" in letter["body"]
    assert [d["purpose"] for d in decisions(second)] == ["collection"]


def test_the_validation_notice_states_the_balance_the_servicer_reports() -> None:
    """Reg F 1006.34(c)(2)(viii): the notice states the debt's current amount, not what is
    overdue: a balance of 480.25 on file, less 30 paid since; 50 overdue. A payment before the
    snapshot is in its balance already, and a snapshot naming none keeps the balance on file."""
    feed = borrower(collector=True)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(30), paid_in_full=False), day(-3))
    snapshot = DelinquencyUpdated(
        loan_id="L1",
        days_past_due=0,
        amount_overdue=usd(0),
        as_of=day(-2).date(),
        balance=Money(amount=Decimal("480.25"), currency="USD"),
    )
    feed.send(B, snapshot, day(-2))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(30), paid_in_full=False), day(-1))

    first = feed.send(B, dpd(1, day(0).date()), day(0))

    [letter] = _tasks(first, "task.letter")
    [email] = _tasks(first, "task.email")
    assert "you owe 450.25 USD" in letter["body"]
    assert "you owe 450.25 USD" in email["body"]


def test_a_validation_notice_without_a_balance_on_file_states_what_is_overdue() -> None:
    """A servicer that sends no balance: the notice states the amount overdue, as before the
    field (ADR 0022)."""
    feed = borrower(collector=True)

    first = feed.send(B, dpd(1, day(0).date()), day(0))

    [letter] = _tasks(first, "task.letter")
    assert "you owe 50.00 USD" in letter["body"]


def test_a_first_party_lender_sends_no_validation_notice() -> None:
    feed = borrower(collector=False)

    out = feed.send(B, dpd(1, day(0).date()), day(0))

    assert [d["purpose"] for d in decisions(out)] == ["collection"]


def test_day_seven_sends_the_formal_notice_by_email_and_as_a_letter_task() -> None:
    feed = borrower()

    out = feed.send(B, dpd(7, day(6).date()), day(6))

    assert sorted(channels(out)) == [Channel.EMAIL, Channel.LETTER]
    [letter] = _tasks(out, "task.letter")
    assert letter["purpose"] == "collection"
    assert "days past due" in letter["body"]


# -- legal hand-off -------------------------------------------------------------------------


def test_the_legal_stage_records_one_hand_off_and_withdraws_pending_contacts() -> None:
    feed = borrower()
    night = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)  # 02:00 in New York
    feed.send(B, dpd(59, night.date()), night - timedelta(days=1))  # a firm-stage day
    deferred = feed.send(B, dpd(57, night.date()), night)  # (dpd 57 = 15 + 6*7: a firm day)

    handed = feed.send(B, dpd(60, night.date()), night + timedelta(hours=1))
    again = feed.send(B, dpd(61, night.date()), night + timedelta(days=1))

    assert of_type(deferred, "timer.scheduled")  # quiet hours: the firm call and text wait
    [handoff] = of_type(handed, "legal.handed_off")
    assert handoff["days_past_due"] == 60
    assert {d["reason"] for d in of_type(handed, "contact.intent_dropped")} == {
        "handed_off_to_legal"
    }
    assert decisions(handed) == decisions(again) == []
    assert of_type(again, "legal.handed_off") == []


# -- repayment plans ------------------------------------------------------------------------


def _plan(feed: Feed, *dues: date) -> Any:
    plan = RepaymentPlanAgreed(
        loan_id="L1",
        instalments=tuple(PlannedInstalment(due_date=d, amount=usd(25)) for d in dues),
    )
    return feed.send(B, plan, day(0))


def test_an_agreed_plan_replaces_the_stages_with_instalment_reminders() -> None:
    feed = borrower()
    out = _plan(feed, date(2026, 3, 20), date(2026, 4, 20))

    collection = feed.send(B, dpd(15, day(1).date()), day(1))  # a firm day, but on a plan
    reminder = feed.tick(datetime(2026, 3, 19, 18, 0, tzinfo=UTC))  # 14:00 EDT the day before

    reasons = sorted(t["reason"] for t in of_type(out, "timer.scheduled"))
    assert reasons == ["plan_check", "plan_check", "plan_reminder", "plan_reminder"]
    assert decisions(collection) == []
    [sms] = _tasks(reminder, "task.sms")
    assert "25.00 USD" in sms["body"]
    assert "2026-03-20" in sms["body"]


def test_paying_an_instalment_withdraws_its_check_and_paying_all_completes_the_plan() -> None:
    feed = borrower()
    _plan(feed, date(2026, 3, 20), date(2026, 4, 20))

    one = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(25), paid_in_full=False), day(1))
    two = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(25), paid_in_full=False), day(2))
    later = feed.tick(datetime(2026, 5, 1, 15, 0, tzinfo=UTC))

    assert [d["reason"] for d in of_type(one, "contact.intent_dropped")] == ["instalment_paid"] * 2
    assert of_type(two, "repayment_plan.completed") == [{"loan_id": "L1"}]
    assert later.ledger == []  # nothing left to fire


def test_a_missed_instalment_breaks_the_plan_and_collection_resumes() -> None:
    feed = borrower()
    _plan(feed, date(2026, 3, 20), date(2026, 4, 20))

    feed.tick(datetime(2026, 3, 19, 18, 0, tzinfo=UTC))  # the first instalment's reminder
    # 2026-03-23 10:00 EDT: the day after the first instalment's 2-day grace.
    broken = feed.tick(datetime(2026, 3, 23, 14, 0, tzinfo=UTC))
    resumed = feed.send(B, dpd(22, date(2026, 3, 24)), datetime(2026, 3, 24, 16, 0, tzinfo=UTC))

    assert of_type(broken, "repayment_plan.broken") == [
        {"loan_id": "L1", "missed_due_date": "2026-03-20"}
    ]
    assert {d["reason"] for d in of_type(broken, "contact.intent_dropped")} == {
        "repayment_plan_broken"
    }
    [sms] = _tasks(broken, "task.sms")
    assert "plan payment due on 2026-03-20" in sms["body"]
    assert sorted(channels(resumed)) == [Channel.CALL, Channel.SMS]  # the firm stage again


# -- segments -------------------------------------------------------------------------------


def _unanswered(feed: Feed, out: Any, at: datetime) -> Any:
    [call] = [d for d in decisions(out) if d["channel"] == "call"]
    outcome = ContactOutcomeRecorded(
        attempt_id=call["attempt_id"],
        channel=Channel.CALL,
        outcome=OutcomeKind.NO_ANSWER,
        reported_at=at,
    )
    return feed.send(B, outcome, at + timedelta(minutes=1), topic=OUTCOMES)


def _with_contact_person(feed: Feed) -> None:
    link = PartyLinked(
        loan_id="L1",
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        name="Cy",
        phones=(Phone(number="+15185550123", type=PhoneType.HOME),),
    )
    feed.send(B, link, day(0) - timedelta(hours=1))


def test_three_unanswered_attempts_make_the_borrower_unreachable_and_ask_contacts_once() -> None:
    """Seeds: 失去联系 -> reach the borrower through their contacts. A location inquiry
    (RF-13: once per third party), never a collection call to them."""
    feed = borrower()
    _with_contact_person(feed)
    segments = []
    for n in range(3):
        out = feed.send(B, dpd(n + 1, day(n).date()), day(n))
        after = _unanswered(feed, out, day(n) + timedelta(minutes=5))
        segments += of_type(out, "segment.assigned") + of_type(after, "segment.assigned")

    day4 = feed.send(B, dpd(4, day(3).date()), day(3))
    day5 = feed.send(B, dpd(5, day(4).date()), day(4))

    assert [s["segment"] for s in segments] == ["unreachable"]  # a borrower starts cooperative
    assert "did not reach" in segments[-1]["because"]
    assert [(d["party_id"], d["purpose"], d["verdict"]) for d in decisions(day4)] == [
        ("c1", "location_inquiry", "authorised")
    ]
    assert decisions(day5) == []  # asked once; no stage contact on day 5


def test_the_gate_learns_the_borrower_is_unreachable_and_a_refusal_is_kept_forever() -> None:
    """CN-3's preconditions, as the gate sees them: debtor unreachable; contact refused."""
    feed = borrower()
    _with_contact_person(feed)
    for n in range(3):
        _unanswered(feed, feed.send(B, dpd(n + 1, day(n).date()), day(n)), day(n))
    feed.send(B, dpd(4, day(3).date()), day(3))  # the segment is recorded by now

    feed.send(B, ThirdPartyRefused(party_id="c1", reported_at=day(3)), day(3))

    state = feed.engine.states[feed.record(B, dpd(1, day(0).date()), day(0)).partition]
    facts = state.borrowers[B].party_facts(state.borrowers[B].parties["c1"])
    assert facts.debtor_unreachable is True
    assert facts.third_party_refused is True


def test_a_partial_payment_makes_the_borrower_willing_but_unable_and_softens_the_tone() -> None:
    """Seeds: 还款能力欠缺, 还款意愿良好 -> a supportive tone, a plan offered, fewer contacts."""
    feed = borrower()
    paid = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(10), paid_in_full=False), day(0))

    firm = feed.send(B, dpd(15, day(1).date()), day(1))
    skipped = feed.send(B, dpd(22, day(8).date()), day(8))  # every 14 days, not 7

    assert [s["segment"] for s in of_type(paid, "segment.assigned")] == ["willing_unable"]
    [sms] = _tasks(firm, "task.sms")
    assert "agree a plan" in sms["body"]
    assert decisions(skipped) == []


def test_a_broken_promise_makes_the_borrower_able_but_unwilling_and_firms_the_tone() -> None:
    from contracts import PromiseToPayMade

    feed = borrower()
    feed.send(
        B, PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 4)), day(0)
    )
    fired = feed.tick(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    firm = feed.send(B, dpd(15, date(2026, 3, 8)), datetime(2026, 3, 8, 16, 0, tzinfo=UTC))

    assert [s["segment"] for s in of_type(firm, "segment.assigned")] == ["able_unwilling"]
    assert of_type(fired, "segment.assigned") == []  # the break is recorded as it fires...
    [sms] = _tasks(firm, "task.sms")
    assert "under your agreement" in sms["body"]  # ...and the next contact is firmer


# -- the playbook as data --------------------------------------------------------------------


def test_a_playbook_naming_a_missing_template_fails_at_start_up() -> None:
    playbook, _ = load_playbook()
    broken = playbook.model_copy(
        update={"broken_promise": playbook.broken_promise.model_copy(update={"template": "nope"})}
    )

    check_playbook(playbook, load_templates())
    with pytest.raises(PlaybookError, match=r"'nope' is not in templates/en\.yaml"):
        check_playbook(broken, load_templates())


def test_a_voicemail_that_mentions_the_debt_fails_at_start_up() -> None:
    """RF-18: a voicemail that is not a limited-content message never loads."""
    playbook, templates = load_playbook()[0], load_templates()
    english = dict(templates.by_language["en"])
    english["firm_call"] = {"body": "{{ business }}: your debt is overdue. Call {{ callback }}."}
    leaky = dataclasses.replace(templates, by_language={**templates.by_language, "en": english})

    with pytest.raises(PlaybookError, match=r"firm_call: not a limited-content voicemail"):
        check_playbook(playbook, leaky)


def test_a_product_with_its_own_playbook_follows_it_and_others_the_default() -> None:
    """Strategies per product: a BNPL loan gets a text on day 1 (its playbook), an instalment
    loan a call (the default)."""
    from contracts import LoanOpened

    feed = borrower()
    feed.send(
        B,
        LoanOpened(loan_id="L2", product="bnpl", principal=usd(80), third_party_collector=False),
        day(0),
    )
    bnpl = DelinquencyUpdated(
        loan_id="L2", days_past_due=1, amount_overdue=usd(20), as_of=day(0).date()
    )

    default = feed.send(B, dpd(1, day(0).date()), day(0))
    own = feed.send(B, bnpl, day(0) + timedelta(minutes=1))

    assert channels(default) == [Channel.CALL]
    assert channels(own) == [Channel.SMS]


def test_the_shipped_playbooks_load_and_an_unknown_default_is_refused() -> None:
    strategy = load_strategy()
    assert set(strategy.by_product) == {"bnpl"}
    assert strategy.default.name == "default"
    with pytest.raises(PlaybookError, match="no such playbook"):
        load_strategy("nope")


# -- edges found in review -------------------------------------------------------------------


def _unreachable_with_contact(feed: Feed) -> None:
    _with_contact_person(feed)
    for n in range(3):
        _unanswered(feed, feed.send(B, dpd(n + 1, day(n).date()), day(n)), day(n))


def test_no_location_inquiry_once_the_borrower_is_represented_by_an_attorney() -> None:
    """FDCPA 1692b(6): a represented consumer's contacts are not asked where they are."""
    from contracts import AttorneyRepresented

    feed = borrower()
    _unreachable_with_contact(feed)
    feed.send(B, AttorneyRepresented(party_id=B, loan_id="L1"), day(3) - timedelta(hours=1))

    day4 = feed.send(B, dpd(4, day(3).date()), day(3))

    assert [d for d in decisions(day4) if d["party_id"] == "c1"] == []


def test_a_validation_notice_that_cannot_be_given_is_decided_once_per_decision() -> None:
    """Two communications in one decision (the firm stage's call and text) ask for the notice
    once; when it is suppressed, that one decision stays on the record for the audit."""
    from contracts import BorrowerProfiled, ConsentRevoked
    from tests.unit.orchestrator.builders import ny_profile

    feed = borrower(collector=True)
    no_address = {**ny_profile(B), "addresses": ()}
    feed.send(B, BorrowerProfiled(**no_address), day(0) - timedelta(hours=2))
    feed.send(
        B,
        ConsentRevoked(
            party_id=B,
            channel=Channel.EMAIL,
            address=None,
            received_at=day(0) - timedelta(hours=2),
        ),
        day(0) - timedelta(hours=2),
    )

    out = feed.send(B, dpd(15, day(0).date()), day(0))

    notices = [d for d in decisions(out) if d["purpose"] == "validation_notice"]
    # No postal address: no letter to ask for; the email is opted out (RF-17): one decision.
    assert [(d["channel"], d["verdict"]) for d in notices] == [("email", "suppressed")]


def test_agreeing_a_plan_keeps_a_pending_dispute_response() -> None:
    """Only the strategy's own contacts are withdrawn; answers owed to the borrower stay."""
    from contracts import DisputeOpened

    feed = borrower()
    night = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)  # 01:00 in New York
    disputed = feed.send(B, DisputeOpened(loan_id="L1"), night)
    planned = _plan(feed, date(2026, 3, 20))

    assert [t["intent"]["purpose"] for t in of_type(disputed, "timer.scheduled")] == [
        "dispute_response"
    ]
    assert of_type(planned, "contact.intent_dropped") == []


def test_no_hand_off_while_a_plan_is_being_kept() -> None:
    feed = borrower()
    _plan(feed, date(2026, 3, 20), date(2026, 5, 20))

    out = feed.send(B, dpd(60, day(1).date()), day(1))

    assert of_type(out, "legal.handed_off") == []


def test_an_instalment_already_past_is_neither_reminded_nor_broken_at_once() -> None:
    feed = borrower()
    out = _plan(feed, date(2026, 2, 20), date(2026, 4, 20))
    soon = feed.tick(day(1))

    assert sorted(t["reason"] for t in of_type(out, "timer.scheduled")) == [
        "plan_check",
        "plan_reminder",
    ]
    assert of_type(soon, "repayment_plan.broken") == []


def test_attempts_that_never_left_do_not_make_an_unreachable_borrower_reachable() -> None:
    from contracts.outcomes import OutcomeKind as K

    feed = borrower()
    _unreachable_with_contact(feed)
    out = feed.send(B, dpd(4, day(3).date()), day(3))
    [inquiry] = decisions(out)
    expired = ContactOutcomeRecorded(
        attempt_id=inquiry["attempt_id"],
        channel=Channel.CALL,
        outcome=K.EXPIRED,
        reported_at=day(3),
    )

    after = feed.send(B, expired, day(3) + timedelta(minutes=20), topic=OUTCOMES)
    paid = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=True), day(4))

    assert of_type(after, "segment.assigned") == []
    assert [s["segment"] for s in of_type(paid, "segment.assigned")] == ["cooperative"]
