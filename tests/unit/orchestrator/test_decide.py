"""The orchestrator's reactions, as a borrower in Albany NY (America/New_York) lives them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    ContactOutcomeRecorded,
    DisputeOpened,
    InstalmentDue,
    LoanOpened,
    PaymentReceived,
    PromiseToPayMade,
    RequestContact,
)
from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, Phone, PhoneType
from services.orchestrator.engine import Emitted
from tests.unit.orchestrator.builders import (
    GUARANTOR,
    MOBILE,
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
    ny_profile,
    of_type,
    stop,
    usd,
    with_guarantor,
)


def test_an_instalment_due_schedules_reminders_for_the_afternoon_before() -> None:
    """Pre-due: SMS and email timers at 14:00 local the day before the due date."""
    feed = borrower()

    out = feed.send(
        B,
        InstalmentDue(loan_id="L1", instalment_no=1, due_date=date(2026, 3, 10), amount=usd(50)),
        NOON_NY,
    )

    timers = of_type(out, "timer.scheduled")
    assert sorted(t["intent"]["channel"] for t in timers) == ["email", "sms"]
    assert {t["due_at"] for t in timers} == {"2026-03-09T18:00:00Z"}  # 14:00 EDT (DST began 03-08)


def test_a_day_one_delinquency_in_hours_asks_for_a_call_and_the_gate_grants_it() -> None:
    """Days 1-3: a call; authorised at noon local, with the evidence recorded (P4)."""
    feed = borrower()

    out = feed.send(B, dpd(1, NOON_NY.date()), NOON_NY)

    [decided] = decisions(out)
    assert decided["verdict"] == "authorised"
    assert decided["policy_version"] == feed.engine.ctx.policy.version
    assert decided["evidence"]["candidate_zones"] == ["America/New_York"]
    assert decided["decided_at"] == "2026-03-03T17:00:00Z"
    assert channels(out) == [Channel.CALL]


def test_a_contact_asked_for_at_night_is_deferred_to_a_durable_timer_and_fired_at_eight() -> None:
    """Quiet hours defer, they do not drop; the timer is re-checked by the gate when it fires."""
    feed = borrower()

    night = feed.send(B, dpd(1, NIGHT_NY.date()), NIGHT_NY)
    [deferred] = decisions(night)
    [timer] = of_type(night, "timer.scheduled")
    fired = feed.tick(datetime(2026, 3, 3, 13, 0, tzinfo=UTC))  # 08:00 EST

    assert deferred["verdict"] == "deferred"
    assert "RF-6" in deferred["reasons"]
    assert timer["due_at"] == "2026-03-03T13:00:00Z"
    assert night.tasks == []
    assert [d["verdict"] for d in decisions(fired)] == ["authorised"]
    assert channels(fired) == [Channel.CALL]


def test_an_unanswered_call_is_followed_by_a_text() -> None:
    """Days 1-3: a text when the call is not answered."""
    feed = borrower()
    call = feed.send(B, dpd(1, NOON_NY.date()), NOON_NY)
    attempt = json.loads(call.tasks[0].value)["payload"]["attempt_id"]

    out = feed.send(
        B,
        ContactOutcomeRecorded(
            attempt_id=attempt,
            channel=Channel.CALL,
            outcome=OutcomeKind.NO_ANSWER,
            reported_at=NOON_NY,
        ),
        NOON_NY + timedelta(minutes=2),
        topic=OUTCOMES,
    )

    assert channels(out) == [Channel.SMS]


def test_payment_in_full_withdraws_pending_contacts_and_confirms() -> None:
    """A payment stops the strategy: deferred contacts are dropped, a confirmation is sent."""
    feed = borrower()
    feed.send(B, dpd(1, NIGHT_NY.date()), NIGHT_NY)  # deferred call, timer pending

    out = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=True),
        NIGHT_NY + timedelta(hours=7),
    )
    later = feed.tick(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))

    assert [d["reason"] for d in of_type(out, "contact.intent_dropped")] == ["paid_in_full"]
    assert channels(out) == [Channel.SMS]
    assert later.ledger == []  # the dropped timer never fires


@pytest.mark.parametrize(
    ("reply", "address"),
    [
        ("STOP", MOBILE),
        ("I want to opt out", MOBILE),
        # Words naming the medium stop texts to every number (RF-17, session 14).
        ("Please stop texting me", None),
        ("No more texts, thanks", None),
    ],
)
def test_a_stop_reply_revokes_texts_at_once_and_is_confirmed_once(
    reply: str, address: str | None
) -> None:
    """TC-2 and TC-4: STOP, or other clear words, revoke consent for that number (or, naming
    texts, for every number); one confirmation; then no texts."""
    feed = borrower()
    out = feed.send(B, stop(MOBILE, "SM1", reply), NOON_NY, topic=OUTCOMES)
    call = feed.send(B, dpd(2, NOON_NY.date()), NOON_NY + timedelta(hours=1))
    attempt = json.loads(call.tasks[0].value)["payload"]["attempt_id"]
    unanswered = feed.send(
        B,
        ContactOutcomeRecorded(
            attempt_id=attempt, channel=Channel.CALL, outcome=OutcomeKind.BUSY, reported_at=NOON_NY
        ),
        NOON_NY + timedelta(hours=1, minutes=1),
        topic=OUTCOMES,
    )

    assert [(r["channel"], r["address"]) for r in of_type(out, "consent.revoked")] == [
        ("sms", address)
    ]
    assert [d["purpose"] for d in decisions(out) if d["verdict"] == "authorised"] == [
        "opt_out_confirmation"
    ]
    assert channels(out) == [Channel.SMS]
    [confirmation] = [json.loads(t.value)["payload"] for t in out.tasks]
    # Not sendable after the 5 minutes TC-4 allows, though tasks may wait 15 for dispatch.
    assert confirmation["not_after"] == "2026-03-03T17:05:00Z"
    assert channels(unanswered) == []  # the follow-up text is suppressed
    assert decisions(unanswered)[0]["verdict"] == "suppressed"


@pytest.mark.parametrize(
    ("reply", "revoked"),
    [
        ("Stop calling me", [("sms", MOBILE), ("call", None)]),
        ("Please stop calling", [("sms", MOBILE), ("call", None)]),
        ("Don't call me again", [("call", None)]),
        ("do not call this number", [("call", None)]),
    ],
)
def test_a_reply_naming_calls_stops_calls_to_every_number(
    reply: str, revoked: list[tuple[str, str | None]]
) -> None:
    """RF-17 (and TC-2's "any reasonable means"): a text saying "stop calling" revokes calls,
    which a text reply otherwise never touches. Calls alone stopped, no confirmation text goes:
    TC-4's confirmation is of texts stopped (session 14)."""
    feed = borrower()

    out = feed.send(B, stop(MOBILE, "SM1", reply), NOON_NY, topic=OUTCOMES)
    call = feed.send(B, dpd(2, NOON_NY.date()), NOON_NY + timedelta(hours=1))

    assert [(r["channel"], r["address"]) for r in of_type(out, "consent.revoked")] == revoked
    assert bool(out.tasks) is (revoked[0][0] == "sms")  # the confirmation text, or none
    assert Channel.CALL not in channels(call)
    assert {d["verdict"] for d in decisions(call) if d["channel"] == "call"} == {"suppressed"}


def _first_call(out: Emitted) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The first call decision in ``out``, and its task if it was authorised."""
    [call, *_] = [d for d in decisions(out) if d["channel"] == "call"]
    tasks = [json.loads(t.value)["payload"] for t in out.tasks]
    return call, next((t for t in tasks if t["attempt_id"] == call["attempt_id"]), None)


def test_from_2027_01_31_a_stop_to_a_text_stops_the_calls_too() -> None:
    """TC-5 ("revoke-all"): the STOP revokes texts (TC-2), and from the date the FCC's waiver
    ends the gate refuses the calls to that number as well."""
    feed = borrower()
    when = day(340)  # 2027-02-06
    feed.send(B, stop(MOBILE, "SM1", received_at=when), when, topic=OUTCOMES)

    out = feed.send(B, dpd(2, when.date()), when + timedelta(hours=1))

    call, task = _first_call(out)
    assert (call["verdict"], call["reasons"]) == ("suppressed", ["TC-5"])
    assert task is None


def test_before_2027_01_31_a_stop_to_a_text_leaves_the_calls() -> None:
    feed = borrower()
    when = day(320)  # 2027-01-17
    feed.send(B, stop(MOBILE, "SM1", received_at=when), when, topic=OUTCOMES)

    out = feed.send(B, dpd(2, when.date()), when + timedelta(hours=1))

    call, task = _first_call(out)
    assert call["verdict"] == "authorised"
    assert task is not None
    assert "revoked_with" not in task


@pytest.mark.parametrize(("n", "revoked_with"), [(320, None), (340, ["sms"])])
def test_a_call_task_names_texts_once_a_stop_to_them_would_stop_it(
    n: int, revoked_with: list[str] | None
) -> None:
    """The channel worker re-checks a task without the policy: from the date, the call's task
    says a revocation of texts to its number cancels it (P6 across media)."""
    feed = borrower()

    out = feed.send(B, dpd(2, day(n).date()), day(n))

    call, task = _first_call(out)
    assert call["verdict"] == "authorised"
    assert task is not None
    assert task.get("revoked_with") == revoked_with


HONOLULU_MOBILE = "+18085550100"


@pytest.mark.parametrize(
    ("asked", "revoked_with"),
    [
        # 18:40 in Honolulu: the call may go until 18:55, before midnight in Washington.
        (datetime(2027, 1, 31, 4, 40, tzinfo=UTC), None),
        # 18:55: it may go until 19:10, and the date begins in Washington while it waits.
        (datetime(2027, 1, 31, 4, 55, tzinfo=UTC), ["sms"]),
    ],
)
def test_a_call_still_waiting_when_tc5_begins_names_texts(
    asked: datetime, revoked_with: list[str] | None
) -> None:
    """TC-5 binds from midnight in Washington, 19:00 the evening before in Honolulu, inside
    its calling window: a call authorised just before may still be waiting to go, and a STOP
    to a text after midnight must cancel it."""
    feed = Feed()
    profile = ny_profile(B) | {
        "addresses": (Address(country="US", region="HI", city="Honolulu", postal_code="96813"),),
        "phones": (Phone(number=HONOLULU_MOBILE, type=PhoneType.MOBILE),),
    }
    feed.send(B, BorrowerProfiled(**profile), asked - timedelta(days=1))
    grant = ConsentGranted(
        party_id=B, channel=Channel.CALL, address=HONOLULU_MOBILE, received_at=asked
    )
    feed.send(B, grant, asked - timedelta(days=1))
    loan = LoanOpened(loan_id="L1", product="p", principal=usd(500), third_party_collector=False)
    feed.send(B, loan, asked - timedelta(days=1))
    ask = RequestContact(
        request_id="desk-1",
        party_id=B,
        loan_id="L1",
        channel=Channel.CALL,
        to=HONOLULU_MOBILE,
        requested_by="agent-7",
    )

    out = feed.send(B, ask, asked)

    call, task = _first_call(out)
    assert call["verdict"] == "authorised"
    assert task is not None
    assert task.get("revoked_with") == revoked_with


def test_a_stop_copy_another_borrower_confirms_revokes_without_a_confirmation() -> None:
    """A number on two borrowers' files: the gateway routes the STOP to both, and marks one
    copy to confirm it. The other copy revokes the number just the same (P6, TC-2) but sends
    nothing, so the person gets one confirmation, not one per borrower (TC-4)."""
    feed = borrower()
    out = feed.send(B, stop(MOBILE, "SM1", confirms_opt_out=False), NOON_NY, topic=OUTCOMES)

    assert [r["address"] for r in of_type(out, "consent.revoked")] == [MOBILE]
    assert decisions(out) == []
    assert out.tasks == []


def test_a_dispute_suppresses_collection_but_not_the_dispute_response() -> None:
    """No contact during a dispute, except answering the dispute."""
    feed = borrower()

    opened = feed.send(B, DisputeOpened(loan_id="L1"), NOON_NY)
    next_day = feed.send(B, dpd(2, NOON_NY.date()), NOON_NY + timedelta(hours=1))

    assert [(d["purpose"], d["verdict"]) for d in decisions(opened)] == [
        ("dispute_response", "authorised")
    ]
    assert channels(opened) == [Channel.EMAIL]
    assert next_day.tasks == []


def test_a_promise_to_pay_pauses_collection_until_its_date_plus_grace() -> None:
    """A promise pauses contacts; after the promised date and grace period they resume."""
    feed = borrower()
    feed.send(
        B, PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 4)), NOON_NY
    )

    paused = feed.send(B, dpd(2, date(2026, 3, 3)), NOON_NY + timedelta(hours=1))
    resumed = feed.send(B, dpd(3, date(2026, 3, 7)), NOON_NY + timedelta(days=4))

    assert paused.tasks == []
    assert channels(resumed) == [Channel.CALL]


def test_a_desk_request_outside_hours_is_answered_deferred_without_a_timer() -> None:
    """A desk asks 'may I call now?': the answer says when, and Parley schedules nothing itself."""
    feed = borrower()

    out = feed.send(
        B,
        RequestContact(
            request_id="desk-1",
            party_id=B,
            loan_id="L1",
            channel=Channel.CALL,
            to=MOBILE,
            requested_by="agent-7",
        ),
        NIGHT_NY,
    )

    [decided] = decisions(out)
    assert decided["verdict"] == "deferred"
    assert decided["request_id"] == "desk-1"
    assert decided["defer_until"] == "2026-03-03T13:00:00Z"
    assert of_type(out, "timer.scheduled") == []


def test_day_four_asks_to_call_the_guarantor_when_the_contract_allows_it() -> None:
    """Day 4: the guarantor, a party with their own consent and budget; only if allowed."""
    allowed, not_allowed = with_guarantor(), with_guarantor(contact_allowed=False)

    asked = allowed.send(B, dpd(4, NOON_NY.date()), NOON_NY)
    refused = not_allowed.send(B, dpd(4, NOON_NY.date()), NOON_NY)

    assert [(d["party_id"], d["verdict"]) for d in decisions(asked)] == [("g1", "authorised")]
    assert json.loads(asked.tasks[0].value)["payload"]["to"] == GUARANTOR
    assert decisions(refused) == []


def test_a_broken_promise_resumes_with_a_broken_promise_message() -> None:
    """Promise on the 4th, grace 2 days: on the 7th at 10:00 local, a text if nothing was paid."""
    feed = borrower()
    feed.send(
        B, PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 4)), NOON_NY
    )

    fired = feed.tick(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))  # 10:00 EST on the 7th

    [decided] = decisions(fired)
    assert decided["stage"] == "broken_promise"
    assert decided["verdict"] == "authorised"
    assert channels(fired) == [Channel.SMS]


def test_a_kept_promise_withdraws_the_broken_promise_check() -> None:
    """Paying what was promised, even short of the whole debt, keeps the promise."""
    feed = borrower()
    feed.send(
        B, PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 4)), NOON_NY
    )

    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False),
        NOON_NY + timedelta(days=1),
    )
    fired = feed.tick(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))

    assert [d["reason"] for d in of_type(paid, "contact.intent_dropped")] == ["promise_kept"]
    assert fired.ledger == []
