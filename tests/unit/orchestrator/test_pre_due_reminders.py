"""The reminder the day before an instalment is due: it names that instalment, as announced,
and is not asked of a debt handed to legal, on an agreed plan, or paid in full."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import InstalmentDue, PaymentReceived, PlannedInstalment, RepaymentPlanAgreed
from tests.unit.orchestrator.builders import NOON_NY, B, Feed, borrower, dpd, of_type, usd

# 2026-03-09 14:00 EDT: the afternoon before the instalment due on 2026-03-10.
EVE = datetime(2026, 3, 9, 18, 0, tzinfo=UTC)


def _due(feed: Feed, no: int, on: date, amount: int, at: datetime = NOON_NY) -> Any:
    due = InstalmentDue(loan_id="L1", instalment_no=no, due_date=on, amount=usd(amount))
    return feed.send(B, due, at)


def _bodies(out: Any) -> dict[str, str]:
    tasks = [json.loads(t.value) for t in out.tasks]
    return {t["type"]: t["payload"].get("subject") or t["payload"]["body"] for t in tasks}


def test_the_reminder_names_the_instalment_not_what_is_overdue() -> None:
    """Five days late with 50 overdue, and 100 due on 03-10: the reminder is of the 100."""
    feed = borrower()
    feed.send(B, dpd(5, NOON_NY.date()), NOON_NY)

    scheduled = _due(feed, 2, date(2026, 3, 10), 100)
    sent = feed.tick(EVE)

    assert {t["intent"]["variables"]["amount"] for t in of_type(scheduled, "timer.scheduled")} == {
        "100.00 USD"
    }
    bodies = _bodies(sent)
    assert set(bodies) == {"task.sms", "task.email"}
    assert all("100.00 USD" in b and "50.00" not in b for b in bodies.values())


def test_the_reminder_keeps_its_date_when_a_later_instalment_is_announced() -> None:
    feed = borrower()
    _due(feed, 2, date(2026, 3, 10), 100)
    _due(feed, 3, date(2026, 4, 10), 120, NOON_NY + timedelta(days=1))

    sent = feed.tick(EVE)

    bodies = _bodies(sent)
    assert set(bodies) == {"task.sms", "task.email"}
    assert all("2026-03-10" in b and "100.00 USD" in b for b in bodies.values())
    assert not any("2026-04-10" in b or "120.00" in b for b in bodies.values())


def test_no_reminder_once_the_debt_is_handed_to_legal() -> None:
    feed = borrower()
    handed = feed.send(B, dpd(60, NOON_NY.date()), NOON_NY)

    scheduled = _due(feed, 5, date(2026, 3, 10), 100, NOON_NY + timedelta(hours=1))
    sent = feed.tick(EVE)

    assert len(of_type(handed, "legal.handed_off")) == 1
    assert of_type(scheduled, "timer.scheduled") == []
    assert sent.tasks == []


def test_no_reminder_of_the_original_schedule_during_a_repayment_plan() -> None:
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY)
    plan = RepaymentPlanAgreed(
        loan_id="L1", instalments=(PlannedInstalment(due_date=date(2026, 3, 20), amount=usd(25)),)
    )
    feed.send(B, plan, NOON_NY)

    scheduled = _due(feed, 5, date(2026, 3, 10), 100, NOON_NY + timedelta(hours=1))
    sent = feed.tick(EVE)

    assert of_type(scheduled, "timer.scheduled") == []
    assert sent.tasks == []


def test_no_reminder_for_a_debt_paid_in_full() -> None:
    feed = borrower()
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(500), paid_in_full=True), NOON_NY)

    scheduled = _due(feed, 2, date(2026, 3, 10), 100, NOON_NY + timedelta(hours=1))

    assert of_type(scheduled, "timer.scheduled") == []


def test_an_instalment_paid_before_its_reminder_is_not_reminded() -> None:
    feed = borrower()
    _due(feed, 2, date(2026, 3, 10), 100)
    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        NOON_NY + timedelta(days=1),
    )

    sent = feed.tick(EVE)

    assert {d["reason"] for d in of_type(paid, "contact.intent_dropped")} == {"instalment_paid"}
    assert sent.tasks == []


def test_paying_only_the_arrears_leaves_the_next_instalments_reminder() -> None:
    """Payments go to what is overdue first: 50 overdue paid, the 100 due on 03-10 is not."""
    feed = borrower()
    feed.send(B, dpd(5, NOON_NY.date()), NOON_NY)
    _due(feed, 2, date(2026, 3, 10), 100)
    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        NOON_NY + timedelta(days=1),
    )

    sent = feed.tick(EVE)

    assert of_type(paid, "contact.intent_dropped") == []
    assert set(_bodies(sent)) == {"task.sms", "task.email"}


def test_paying_the_first_of_two_announced_instalments_keeps_the_seconds_reminder() -> None:
    """Payments cover announced instalments earliest first: March's reminder goes, April's
    stays, whether or not the two amounts are equal."""
    for april in (100, 120):
        feed = borrower()
        _due(feed, 2, date(2026, 3, 10), 100)
        _due(feed, 3, date(2026, 4, 10), april, NOON_NY + timedelta(hours=1))
        paid = feed.send(
            B,
            PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
            NOON_NY + timedelta(days=1),
        )

        march_eve = feed.tick(EVE)
        april_eve = feed.tick(datetime(2026, 4, 9, 18, 0, tzinfo=UTC))

        assert len(of_type(paid, "contact.intent_dropped")) == 2  # March's text and email
        assert march_eve.tasks == []
        assert set(_bodies(april_eve)) == {"task.sms", "task.email"}
