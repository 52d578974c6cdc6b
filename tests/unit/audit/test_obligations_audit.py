"""RF-20 in the audit: a third-party collector's validation notice, proved from the ledger."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from contracts import DelinquencyUpdated, LoanOpened
from contracts.values import Money
from tests.unit.audit.ledgers import NOON_NY, B, audit, ny_borrower, portfolio


def _collect(notice: bool) -> list[tuple[str, str | None]]:
    ledger = ny_borrower()
    if not notice:  # a strategy that forgets RF-20 (as if its playbook had no notice)
        ctx = ledger.engine.ctx
        playbook = ctx.playbook.model_copy(update={"validation_notice": None})
        ledger.engine.ctx = dataclasses.replace(ctx, playbook=playbook)
    usd = Money(amount=Decimal(50), currency="USD")
    ledger.send(
        B,
        LoanOpened(loan_id="L2", product="p", principal=usd, third_party_collector=True),
        NOON_NY - timedelta(hours=2),
    )
    for day in range(8):  # a text each firm-stage week: 15 and 22 days past due
        at = NOON_NY + timedelta(days=day)
        ledger.send(
            B,
            DelinquencyUpdated(
                loan_id="L2", days_past_due=15 + day, amount_overdue=usd, as_of=at.date()
            ),
            at,
        )
    report = audit(ledger).report
    return [(f.code, f.rule) for f in report.violations]


def test_a_collector_that_sends_the_notice_with_its_first_text_has_no_rf20_finding() -> None:
    assert ("validation_notice_late", "RF-20") not in _collect(notice=True)


def test_a_collector_that_never_sends_the_notice_breaks_rf20() -> None:
    assert ("validation_notice_late", "RF-20") in _collect(notice=False)


def test_a_month_of_the_demo_portfolio_keeps_rf20() -> None:
    report = audit(portfolio(120, days=30)).report

    assert [f for f in report.findings if f.rule == "RF-20"] == []
    assert report.ok
