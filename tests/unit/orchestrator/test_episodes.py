"""Delinquency episodes and instalments as the servicer reports them: snapshots that skip days,
arrive late or come from a servicer in another zone do not lose contacts, repeat them, or
withdraw the wrong reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts import DelinquencyUpdated, InstalmentDue, PaymentReceived
from tests.unit.orchestrator.builders import NOON_NY, B, borrower, decisions, of_type, usd

MARCH, APRIL = date(2026, 3, 10), date(2026, 4, 10)


def _day(n: int) -> datetime:
    return NOON_NY + timedelta(days=n)


def _snap(dpd: int, as_of: date, overdue: int = 50) -> DelinquencyUpdated:
    return DelinquencyUpdated(
        loan_id="L1", days_past_due=dpd, amount_overdue=usd(overdue), as_of=as_of
    )


def test_behind_again_without_a_day_at_zero_in_between_is_a_new_episode() -> None:
    """Arrears paid, and the feed's next snapshot a month later is 1 day past due again: the
    delinquency began on another day, so its call is a new attempt, not a redelivery of the
    first episode's (which the gate would drop without a word)."""
    feed = borrower()
    feed.send(B, _snap(1, _day(0).date()), _day(0))
    feed.send(B, _snap(2, _day(1).date()), _day(1))
    feed.send(B, _snap(3, _day(2).date()), _day(2))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), _day(3))

    again = feed.send(B, _snap(1, _day(33).date()), _day(33))

    assert decisions(again) != []


def test_a_snapshot_older_than_one_applied_is_ignored() -> None:
    """Day 7 sent the formal notice; a day-0 snapshot from a week before arrives late: it
    neither starts a new episode nor makes day 8 send the notice again."""
    feed = borrower()
    feed.send(B, _snap(7, _day(0).date()), _day(0))

    late = feed.send(B, _snap(0, _day(-8).date(), 0), _day(0) + timedelta(hours=1))
    eight = feed.send(B, _snap(8, _day(1).date()), _day(1))

    assert decisions(late) == []
    assert decisions(eight) == []


def test_a_payment_on_the_due_date_pays_that_instalment_not_the_next() -> None:
    """March's reminder sent, a snapshot on March's due date with nothing overdue, then March's
    100 paid that day: it pays March, and April keeps its reminder."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), NOON_NY
    )
    assert len(feed.tick(datetime(2026, 3, 9, 18, 0, tzinfo=UTC)).tasks) == 2
    on_due = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 07:00 in New York
    feed.send(B, _snap(0, MARCH, 0), on_due)

    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        on_due + timedelta(hours=5),
    )
    april = feed.tick(datetime(2026, 4, 9, 18, 0, tzinfo=UTC))

    assert of_type(paid, "contact.intent_dropped") == []
    assert len(april.tasks) == 2


def test_paying_the_arrears_does_not_withdraw_an_unpaid_instalments_reminder() -> None:
    """A servicer east of the borrower dates its snapshot 03-10 while New York is on 03-09;
    the 50 of arrears paid that morning leaves March's 100 unpaid, and its reminder stands."""
    feed = borrower()
    feed.send(B, _snap(5, date(2026, 3, 3)), NOON_NY)
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    early = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 in New York, 21:00 in Shanghai
    feed.send(B, _snap(11, MARCH), early)

    paid = feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False),
        early + timedelta(hours=1),
    )

    assert of_type(paid, "contact.intent_dropped") == []
