"""What a promise to pay, a payment and a refusal stop: the strategy follows what the borrower
did, also when the upstream systems report it in pieces or out of order."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest

from contracts import (
    BankruptcyFiled,
    BorrowerProfiled,
    LoanOpened,
    PaymentReceived,
    PromiseToPayMade,
)
from contracts.values import Address, Channel, Phone, PhoneType, Purpose
from services.orchestrator.context import context_factory
from services.orchestrator.core.recheck import revoked_since
from services.orchestrator.settings import OrchestratorSettings
from tests.unit.orchestrator.builders import (
    GUARANTOR,
    NOON_NY,
    T0,
    B,
    Feed,
    borrower,
    decisions,
    dpd,
    of_type,
    usd,
    with_guarantor,
)

NIGHT = datetime(2026, 3, 18, 6, 0, tzinfo=UTC)  # 02:00 EDT: collection waits for 08:00


def test_a_promise_withdraws_collection_contacts_already_waiting_for_the_morning() -> None:
    """Deferred at night to 08:00, then a promise at 07:30: the pause covers those contacts."""
    feed = borrower()
    night = feed.send(B, dpd(15, NIGHT.date()), NIGHT)
    waiting = {t["intent"]["attempt_id"] for t in of_type(night, "timer.scheduled")}
    assert len(waiting) == 2
    assert {d["verdict"] for d in decisions(night)} == {"deferred"}

    promised = feed.send(
        B,
        PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 25)),
        NIGHT + timedelta(hours=5, minutes=30),
    )
    morning = feed.tick(NIGHT + timedelta(hours=6, minutes=5))

    dropped = of_type(promised, "contact.intent_dropped")
    assert {d["attempt_id"] for d in dropped} == waiting
    assert {d["reason"] for d in dropped} == {"promise_to_pay_made"}
    assert decisions(morning) == []
    assert morning.tasks == []


def test_a_promise_kept_in_two_payments_is_kept() -> None:
    """30 then 20 against a promise of 50: kept, so no 'we did not receive' text, and the
    borrower is not re-segmented as paying in part unasked."""
    feed = borrower()
    t = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    feed.send(B, dpd(2, t.date()), t)
    feed.send(
        B,
        PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 6)),
        t + timedelta(hours=1),
    )
    first = feed.send(
        B, PaymentReceived(loan_id="L1", amount=usd(30), paid_in_full=False), t + timedelta(days=1)
    )
    second = feed.send(
        B, PaymentReceived(loan_id="L1", amount=usd(20), paid_in_full=False), t + timedelta(days=2)
    )
    check = feed.tick(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))

    assert of_type(first, "contact.intent_dropped") == []  # 30 of 50: not kept yet
    assert [d["reason"] for d in of_type(second, "contact.intent_dropped")] == ["promise_kept"]
    assert [d for d in decisions(check) if d["stage"] == "broken_promise"] == []
    assert of_type(first, "segment.assigned") + of_type(second, "segment.assigned") == []


def test_a_promise_part_paid_and_then_forgotten_is_still_broken() -> None:
    feed = borrower()
    t = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    feed.send(B, dpd(2, t.date()), t)
    feed.send(
        B,
        PromiseToPayMade(loan_id="L1", amount=usd(50), promised_date=date(2026, 3, 4)),
        t + timedelta(hours=1),
    )
    feed.send(
        B, PaymentReceived(loan_id="L1", amount=usd(30), paid_in_full=False), t + timedelta(days=1)
    )

    check = feed.tick(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))

    assert [d["stage"] for d in decisions(check)] == ["broken_promise"]


def test_a_snapshot_from_before_payment_in_full_does_not_restart_collection() -> None:
    """Servicing and payments are separate upstream systems: a delinquency snapshot as of the
    day before arrives an hour after the payment in full. The debt stays paid."""
    feed = borrower()
    paid_at = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)  # 10:00 EDT
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(550), paid_in_full=True), paid_at)

    stale = feed.send(B, dpd(15, date(2026, 3, 16)), paid_at + timedelta(hours=1))
    same_day = feed.send(B, dpd(16, date(2026, 3, 17)), paid_at + timedelta(hours=2))
    later = feed.tick(paid_at + timedelta(days=1))

    assert decisions(stale) + decisions(same_day) + decisions(later) == []
    assert stale.tasks + same_day.tasks + later.tasks == []


def test_a_debt_overdue_again_after_the_day_it_was_paid_is_collected_again() -> None:
    """Only snapshots from before the payment are stale: a later one is news."""
    feed = borrower()
    paid_at = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(550), paid_in_full=True), paid_at)

    news = feed.send(B, dpd(2, date(2026, 4, 19)), datetime(2026, 4, 20, 16, 0, tzinfo=UTC))

    assert decisions(news) != []


def test_a_guarantor_who_refused_is_not_asked_again() -> None:
    """ThirdPartyRefused covers a guarantor too: day 4 calls the guarantor only if they did not."""
    noon = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)

    asked = with_guarantor().send(B, dpd(4, noon.date()), noon)
    after_refusal = with_guarantor(refused=True).send(B, dpd(4, noon.date()), noon)

    assert [d["party_id"] for d in decisions(asked)] == ["g1"]
    assert decisions(after_refusal) == []


@pytest.mark.parametrize(
    ("chapter", "verdict"), [(13, "suppressed"), (None, "suppressed"), (7, "authorised")]
)
def test_the_borrowers_chapter_13_bankruptcy_stays_the_guarantor_too(
    chapter: Literal[7, 13] | None, verdict: str
) -> None:
    """BK-1301: chapter 13 (and a filing of unknown chapter) stays collection from co-debtors;
    chapter 7 does not, and the guarantor is called on day 4 as before."""
    noon = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    feed = with_guarantor()
    feed.send(B, BankruptcyFiled(party_id=B, chapter=chapter), noon - timedelta(days=1))

    asked = feed.send(B, dpd(4, noon.date()), noon)

    assert [(d["party_id"], d["verdict"]) for d in decisions(asked)] == [("g1", verdict)]
    assert ("BK-1301" in decisions(asked)[0]["reasons"]) is (verdict == "suppressed")


def test_a_guarantors_task_authorised_before_a_chapter_13_filing_is_not_sent() -> None:
    """BK-1301 at dispatch, as every hold: the US policy that authorised the guarantor's call
    applies the stay, so its task says so, and the channel worker's re-check (which reads no
    policy) cancels it once the filing is in. A task whose policy does not apply the stay
    carries no such mark and is left alone."""
    noon = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    feed = with_guarantor()
    asked = feed.send(B, dpd(4, noon.date()), noon)
    feed.send(B, BankruptcyFiled(party_id=B, chapter=13), noon + timedelta(minutes=1))
    state = feed.state(B)
    [task] = [json.loads(t.value)["payload"] for t in asked.tasks]

    def reason(marked: bool) -> str | None:
        at = noon + timedelta(minutes=2)
        return revoked_since(
            state,
            "g1",
            "L1",
            Channel.CALL,
            GUARANTOR,
            Purpose.COLLECTION,
            at,
            co_debtor_stay=marked,
        )

    assert task["co_debtor_stay"] is True
    assert reason(True) == "hold:co_debtor_stay"
    assert reason(False) is None


def test_a_borrowers_own_task_carries_no_co_debtor_mark() -> None:
    out = borrower().send(B, dpd(1, NOON_NY.date()), NOON_NY)

    assert out.tasks
    assert all("co_debtor_stay" not in json.loads(t.value)["payload"] for t in out.tasks)


def test_what_a_task_says_is_part_of_the_strategy_version() -> None:
    """The business name, agent and callback number are written into every task: decided under
    other ones, a re-derivation must not claim to be the same strategy (P5)."""
    base = OrchestratorSettings()
    versions = {
        context_factory(base.model_copy(update=change))[1]
        for change in (
            {},
            {"business_name": "Other Services"},
            {"agent_name": "Sam"},
            {"callback_number": "+18005550199"},
        )
    }

    assert len(versions) == 4
    assert context_factory(base)[1] == context_factory(OrchestratorSettings())[1]


def test_a_snapshot_dated_the_payment_day_east_of_greenwich_is_stale_too() -> None:
    """A borrower in Shanghai pays in full at 07:00 on 03-10 (23:00 UTC on 03-09); the
    servicer's nightly snapshot as of 03-10 (its local date) arrives after: still stale."""
    feed = Feed()
    profile = BorrowerProfiled(
        party_id=B,
        name="Wang",
        language="zh-CN",
        declared_time_zone="Asia/Shanghai",
        addresses=(Address(country="CN", city="Shanghai"),),
        phones=(Phone(number="+8613800138000", type=PhoneType.MOBILE),),
    )
    feed.send(B, profile, T0)
    feed.send(B, LoanOpened(loan_id="L1", product="p", principal=usd(500)), T0)
    paid_at = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(550), paid_in_full=True), paid_at)

    stale = feed.send(B, dpd(15, date(2026, 3, 10)), paid_at + timedelta(hours=3))

    assert decisions(stale) == []
    assert stale.tasks == []
