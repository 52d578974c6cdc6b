"""Delinquency episodes and instalments as the servicer reports them: snapshots that skip days,
arrive late or come from a servicer in another zone do not lose contacts, repeat them, or
withdraw the wrong reminder."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts import DelinquencyUpdated, InstalmentDue, PaymentReceived
from events.records import Out
from services.orchestrator.engine import Emitted, Orchestrator
from tests.unit.orchestrator.builders import (
    NOON_NY,
    B,
    borrower,
    day,
    decisions,
    engine,
    of_type,
    usd,
)

MARCH, APRIL = date(2026, 3, 10), date(2026, 4, 10)


def _snap(dpd: int, as_of: date, overdue: int = 50) -> DelinquencyUpdated:
    return DelinquencyUpdated(
        loan_id="L1", days_past_due=dpd, amount_overdue=usd(overdue), as_of=as_of
    )


def test_behind_again_without_a_day_at_zero_in_between_is_a_new_episode() -> None:
    """Arrears paid, and the feed's next snapshot a month later is 1 day past due again: the
    delinquency began on another day, so its call is a new attempt, not a redelivery of the
    first episode's (which the gate would drop without a word)."""
    feed = borrower()
    feed.send(B, _snap(1, day(0).date()), day(0))
    feed.send(B, _snap(2, day(1).date()), day(1))
    feed.send(B, _snap(3, day(2).date()), day(2))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), day(3))

    again = feed.send(B, _snap(1, day(33).date()), day(33))

    assert decisions(again) != []


def test_a_snapshot_older_than_one_applied_is_ignored() -> None:
    """Day 7 sent the formal notice; a day-0 snapshot from a week before arrives late: it
    neither starts a new episode nor makes day 8 send the notice again."""
    feed = borrower()
    feed.send(B, _snap(7, day(0).date()), day(0))

    late = feed.send(B, _snap(0, day(-8).date(), 0), day(0) + timedelta(hours=1))
    eight = feed.send(B, _snap(8, day(1).date()), day(1))

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


def _snapshot_for(as_of: date, dpd: int, overdue: int = 100) -> tuple[DelinquencyUpdated, datetime]:
    at = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
    return _snap(dpd, as_of, overdue), at


def test_paying_off_the_oldest_missed_instalment_is_not_being_up_to_date() -> None:
    """Behind since March, April missed too; March's 100 paid while April's is overdue: the
    servicer now counts days from April, but the debt was never current, so its stages do not
    start over (the formal notice is not sent a second time)."""
    feed = borrower()
    for n in range(1, 9):
        feed.send(B, *_snapshot_for(date(2026, 3, 1) + timedelta(days=n), n, 50))
    behind, at = _snapshot_for(date(2026, 4, 2), 32, 200)
    feed.send(B, behind, at)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), at)

    later = [feed.send(B, *_snapshot_for(date(2026, 4, 1) + timedelta(days=n), n)) for n in (2, 7)]

    assert [d for out in later for d in decisions(out) if d["stage"] == "notice"] == []


def test_an_instalment_announced_again_after_it_was_paid_off_is_not_reminded() -> None:
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), day(1))

    again = feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), day(2)
    )
    eve = feed.tick(datetime(2026, 3, 9, 18, 0, tzinfo=UTC))

    assert of_type(again, "timer.scheduled") == []
    assert eve.tasks == []


def test_a_snapshot_cut_before_the_payment_that_cleared_the_arrears_does_not_restore_them() -> None:
    """50 overdue, paid on 03-04; the servicer's 03-04 snapshot, cut before the payment posted,
    arrives after it: ignored. March's 100 paid in advance then pays March."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    feed.send(B, _snap(5, date(2026, 3, 3)), NOON_NY)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), day(1))
    stale = feed.send(B, _snap(6, date(2026, 3, 4)), day(1) + timedelta(hours=2))

    paid = feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), day(2))

    assert decisions(stale) == []
    assert {d["reason"] for d in of_type(paid, "contact.intent_dropped")} == {"instalment_paid"}


def test_a_snapshot_from_before_the_latest_catch_up_stays_stale_after_payment_in_full() -> None:
    """Paid in full on day 1; the servicer then reports 50 overdue at 0 days past due (day 3),
    which a payment clears on day 10. A 7-days-past-due snapshot cut on day 8 arriving after
    that payment describes arrears already paid: ignored, as after any catch-up. (Up to core
    revision 6 only the payment in full counted here, and it restarted collection.)"""
    feed = borrower()
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(500), paid_in_full=True), day(1))
    feed.send(B, _snap(0, day(3).date()), day(3))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), day(10))

    stale = feed.send(B, _snap(7, day(8).date()), day(10) + timedelta(minutes=5))

    assert decisions(stale) == []
    assert of_type(stale, "segment.assigned") == []


def _behind_then_paid(paid_in_full: bool) -> Any:
    """Five days behind on 50, then paid on day 1: in full, or just the arrears."""
    feed = borrower()
    feed.send(B, _snap(5, day(0).date()), day(0))
    amount = usd(500 if paid_in_full else 50)
    feed.send(B, PaymentReceived(loan_id="L1", amount=amount, paid_in_full=paid_in_full), day(1))
    return feed


def test_a_snapshot_cut_before_the_payment_in_full_posted_does_not_chase_it() -> None:
    """Paid in full on day 1 (03-04); the servicer posts it days late, so its snapshots dated
    up to 5 days after the payment still show the arrears. Collecting then would dun a borrower
    who has paid (FDCPA 1692e(2)(A)): they are ignored. One still behind after that means the
    payment did not stick (returned), and collection starts again."""
    feed = _behind_then_paid(paid_in_full=True)

    lagging = [feed.send(B, _snap(5 + n, day(n).date()), day(n)) for n in range(2, 8)]
    returned = feed.send(B, _snap(13, day(8).date()), day(8))

    assert [decisions(out) for out in lagging] == [[]] * 6
    assert decisions(returned) != []


def test_a_snapshot_cut_before_the_payment_of_the_arrears_posted_does_not_chase_it() -> None:
    feed = _behind_then_paid(paid_in_full=False)

    lagging = feed.send(B, _snap(8, day(3).date()), day(3))
    returned = feed.send(B, _snap(13, day(8).date()), day(8))

    assert decisions(lagging) == []
    assert decisions(returned) != []


def test_a_snapshot_showing_the_payment_posted_ends_the_posting_lag() -> None:
    """Once a snapshot after the payment shows the debt up to date, the payment has posted:
    arrears reported after it are new (an instalment missed since), and are collected."""
    feed = _behind_then_paid(paid_in_full=False)
    feed.send(B, _snap(0, day(3).date(), 0), day(3))

    missed = feed.send(B, _snap(1, day(4).date()), day(4))

    assert decisions(missed) != []


def test_an_instalment_missed_after_the_payment_is_collected_in_the_posting_lag() -> None:
    """The arrears paid on day 1 (03-04); the instalment due 03-06 is not paid: a snapshot of
    03-07 one day past due reports that instalment, not the payment unposted."""
    feed = _behind_then_paid(paid_in_full=False)
    due = day(3).date()
    feed.send(B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=due, amount=usd(50)), day(2))

    missed = feed.send(B, _snap(1, day(4).date()), day(4))

    assert decisions(missed) != []


def test_an_instalment_announced_before_payment_in_full_is_not_taken_as_missed() -> None:
    """Paid in full for less than the instalments announced add up to (they carried interest
    not yet earned): nothing is owed, so a lagging snapshot is not read as a missed one."""
    feed = borrower()
    feed.send(B, _snap(5, day(0).date()), day(0))
    due = day(3).date()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=due, amount=usd(600)), day(0)
    )
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(500), paid_in_full=True), day(1))

    lagging = feed.send(B, _snap(9, day(4).date()), day(4))

    assert decisions(lagging) == []


def test_a_payment_before_its_instalment_is_announced_pays_it() -> None:
    """100 paid on day 1 with nothing overdue or announced; March's 100 is announced after:
    the payment already paid it, so no reminder asks for it again."""
    feed = borrower()
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), day(1))

    announced = feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), day(2)
    )
    eve = feed.tick(datetime(2026, 3, 9, 18, 0, tzinfo=UTC))

    assert of_type(announced, "timer.scheduled") == []
    assert eve.tasks == []


def test_what_a_payment_leaves_over_pays_later_instalments_earliest_first() -> None:
    """150 paid ahead: it pays March's 100 and 50 of April's; April's reminder asks for the 50
    still to pay, and the credit is spent: May's is asked for whole."""
    feed = borrower()
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(150), paid_in_full=False), day(1))
    for n, due in enumerate((MARCH, APRIL, date(2026, 5, 10)), start=2):
        feed.send(
            B, InstalmentDue(loan_id="L1", instalment_no=n, due_date=due, amount=usd(100)), day(2)
        )

    march = feed.tick(datetime(2026, 3, 9, 18, 0, tzinfo=UTC))
    april = feed.tick(datetime(2026, 4, 9, 18, 0, tzinfo=UTC))
    may = feed.tick(datetime(2026, 5, 9, 18, 0, tzinfo=UTC))

    assert march.tasks == []
    assert ["50.00 USD" in body for body in _texts(april)] == [True]
    assert ["100.00 USD" in body for body in _texts(may)] == [True]


def _texts(out: Emitted) -> list[str]:
    """The bodies of the texts among ``out``'s tasks."""
    tasks = [json.loads(t.value) for t in out.tasks]
    return [t["payload"]["body"] for t in tasks if t["type"] == "task.sms"]


def _at(as_of: date) -> datetime:
    """13:00 in New York on that date."""
    return datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)


def test_an_instalment_paid_on_its_due_date_is_not_chased_while_the_payment_posts() -> None:
    """March's 100 paid at noon on its due date (nothing overdue before). The servicer posts it
    two days later, so its snapshot of 03-11 still shows March 1 day past due. The borrower
    has paid: "your account is overdue" misrepresents the debt (FDCPA 1692e(2)(A)), which is
    what ADR 0021's posting lag is for."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), day(0)
    )
    feed.send(B, _snap(0, date(2026, 3, 9), 0), _at(date(2026, 3, 9)))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), _at(MARCH))

    lagging = feed.send(B, _snap(1, date(2026, 3, 11), 100), _at(date(2026, 3, 11)))

    assert decisions(lagging) == []


def test_an_instalment_paid_a_day_late_is_not_chased_while_the_payment_posts() -> None:
    """March's 100 paid on 03-11, a day late, before any snapshot showed it behind; the
    snapshot of 03-12 was cut before the payment posted."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), day(0)
    )
    feed.send(B, _snap(0, date(2026, 3, 9), 0), _at(date(2026, 3, 9)))
    feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        _at(date(2026, 3, 11)),
    )

    lagging = feed.send(B, _snap(2, date(2026, 3, 12), 100), _at(date(2026, 3, 12)))

    assert decisions(lagging) == []


def test_an_instalment_announced_again_after_it_was_paid_as_arrears_is_not_missed() -> None:
    """March's 50 missed (snapshot of 03-12: 2 days past due), then paid as arrears on 03-13.
    Another system announces March again (a redelivery under its own event id, as
    evolve._due expects). The snapshots of 03-15 and 03-17 (the formal notice's day), cut
    before the payment posted, are the posting lag, not March missed: March was paid as the
    arrears, and an instalment due before the last snapshot is not taken as one to come."""
    feed = borrower()
    march = InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(50))
    feed.send(B, march, day(0))
    feed.send(B, _snap(2, date(2026, 3, 12)), _at(date(2026, 3, 12)))
    feed.send(
        B, PaymentReceived(loan_id="L1", amount=usd(50), paid_in_full=False), _at(date(2026, 3, 13))
    )
    feed.send(B, march, _at(date(2026, 3, 13)) + timedelta(hours=1))  # a new event id

    lagging = [
        feed.send(B, _snap(n, date(2026, 3, 10 + n)), _at(date(2026, 3, 10 + n))) for n in (5, 7)
    ]

    assert [decisions(out) for out in lagging] == [[], []]


def test_a_ledger_written_before_revision_14_restores_the_state_it_was_decided_on() -> None:
    """Written by the orchestrator at 73d9672 (revision 13; golden/gen_r13.py.txt): 5 days
    behind on 50 (03-03), the 50 paid (03-04), a snapshot of 03-06 still 8 days past due.
    Revision 13 applied it: a new episode, and the formal notice (email, letter) was decided on
    it. Restored now, it is folded as revision 13 applied it (evolve.POSTED_FROM_REVISION): the
    ledger gives back the state those decisions were made on (P5)."""
    ledger = json.loads((Path(__file__).parent / "golden/ledger_r13_lag.json").read_text())
    restored = engine()
    for out in ledger:
        restored.restore(out["partition"], out["value"].encode())

    loan = next(ps.borrowers[B] for ps in restored.states.values() if B in ps.borrowers).loans["L1"]
    assert (loan.episode, loan.current, loan.days_past_due, loan.amount_overdue, loan.as_of) == (
        2,
        False,
        8,
        Decimal(50),
        date(2026, 3, 6),
    )


def test_a_validation_notice_does_not_quote_what_a_payment_ahead_paid() -> None:
    """A third-party collector's borrower pays 100 ahead; March's 150 is announced: 50 is still
    to pay, and the reminder says so. The validation notice the same evening (no balance on
    file) must not quote the 150 announced: money already paid (FDCPA 1692e(2)(A))."""
    feed = borrower(collector=True)
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False), day(1))
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(150)), day(2)
    )

    eve = feed.tick(datetime(2026, 3, 9, 20, 0, tzinfo=UTC))
    bodies = [json.loads(t.value)["payload"].get("body", "") for t in eve.tasks]

    assert any("50.00 USD is due" in b for b in bodies)  # the reminder: what is still to pay
    assert [b for b in bodies if "you owe 150.00 USD" in b] == []


def _restored(ledger: list[Out]) -> Orchestrator:
    """An orchestrator restored from ``ledger``, as after a restart."""
    restored = engine()
    for entry in ledger:
        restored.restore(entry.partition, entry.value)
    return restored


def _loans(of: Orchestrator) -> dict[str, dict[str, Any]]:
    states = [ps.borrowers[B] for ps in of.states.values() if B in ps.borrowers]
    return {k: dataclasses.asdict(loan) for state in states for k, loan in state.loans.items()}


def test_live_and_restored_loans_agree_with_credit_the_lag_and_a_missed_instalment() -> None:
    """P5 for credit, a lagging snapshot ignored and a missed instalment."""
    feed = borrower()
    feed.send(B, _snap(5, date(2026, 3, 3)), day(0))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(175), paid_in_full=False), day(1))
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), day(2)
    )
    feed.send(B, _snap(8, date(2026, 3, 6)), day(3))
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), day(4)
    )
    feed.send(B, _snap(1, date(2026, 4, 11), 75), datetime(2026, 4, 11, 17, 0, tzinfo=UTC))
    feed.tick(datetime(2026, 4, 12, 18, 0, tzinfo=UTC))

    restored = _restored(feed.ledger)

    assert _loans(restored) == _loans(feed.engine)


def test_the_loan_state_folded_from_the_ledger_is_the_live_one() -> None:
    """P5 for the new bookkeeping (episodes, stages run, instalments): a restart rebuilds it."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), NOON_NY
    )
    for as_of in (date(2026, 3, 11), date(2026, 3, 13), date(2026, 3, 12), date(2026, 3, 18)):
        feed.send(B, *_snapshot_for(as_of, (as_of - MARCH).days))
    feed.send(B, PaymentReceived(loan_id="L1", amount=usd(150), paid_in_full=False), day(15))
    feed.send(B, *_snapshot_for(date(2026, 4, 11), 1))
    feed.tick(datetime(2026, 4, 12, 18, 0, tzinfo=UTC))

    restored = _restored(feed.ledger)

    assert _loans(feed.engine)["L1"]["episode"] == 2
    assert _loans(restored) == _loans(feed.engine)


def test_a_missed_instalment_is_paid_once_as_arrears_not_again_as_an_instalment() -> None:
    """March missed (100 overdue on 03-11); 200 paid that day: 100 for the arrears, which is
    March, and 100 for April, whose reminder is withdrawn."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=2, due_date=MARCH, amount=usd(100)), NOON_NY
    )
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), NOON_NY
    )
    feed.send(B, *_snapshot_for(date(2026, 3, 11), 1))

    feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(200), paid_in_full=False),
        datetime(2026, 3, 11, 19, 0, tzinfo=UTC),
    )
    april = feed.tick(datetime(2026, 4, 9, 18, 0, tzinfo=UTC))

    assert april.tasks == []


def test_an_instalment_paid_on_the_evening_of_its_due_day_is_that_instalment() -> None:
    """New York, nothing overdue: April's 100 paid at 21:00 on its due day (01:00 UTC the next
    day) pays April, not May, and May is still reminded."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), day(20)
    )
    may = InstalmentDue(loan_id="L1", instalment_no=4, due_date=date(2026, 5, 10), amount=usd(100))
    feed.send(B, may, day(20))
    feed.send(B, *_snapshot_for(date(2026, 4, 9), 0, 0))

    feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        datetime(2026, 4, 11, 1, 0, tzinfo=UTC),
    )
    may_eve = feed.tick(datetime(2026, 5, 9, 18, 0, tzinfo=UTC))

    assert len(may_eve.tasks) == 2


def test_paying_old_arrears_after_the_next_instalment_fell_due_is_not_being_up_to_date() -> None:
    """Behind since March (notice sent); April falls due; March paid the next day. April is
    overdue, so the servicer's count from April does not start the stages over."""
    feed = borrower()
    feed.send(
        B, InstalmentDue(loan_id="L1", instalment_no=3, due_date=APRIL, amount=usd(100)), day(-2)
    )
    for n in range(1, 32):
        feed.send(B, *_snapshot_for(MARCH + timedelta(days=n), n))
    feed.send(
        B,
        PaymentReceived(loan_id="L1", amount=usd(100), paid_in_full=False),
        datetime(2026, 4, 11, 15, 0, tzinfo=UTC),
    )

    later = [feed.send(B, *_snapshot_for(APRIL + timedelta(days=n), n)) for n in range(1, 9)]

    assert [d for out in later for d in decisions(out) if d["stage"] == "notice"] == []
