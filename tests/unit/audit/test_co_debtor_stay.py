"""BK-1301 at dispatch: a guarantor's task authorised under a policy that applies the co-debtor
stay is held once the borrower's chapter 13 filing is in, as the channel worker's re-check
holds it; the audit reads which tasks that is from the decision under its recorded policy, not
from the task, so a task that leaves the mark off is reported."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from contracts import (
    BankruptcyFiled,
    BorrowerProfiled,
    ConsentGranted,
    DelinquencyUpdated,
    LoanOpened,
    PartyLinked,
)
from contracts.values import Address, Channel, Money, PartyRole, Phone, PhoneType
from tests.unit.audit.ledgers import MOBILE, NOON_NY, B, Ledger, audit, edited

GUARANTOR = "+15185550199"
MINUTE = timedelta(minutes=1)


def _guarantor_called() -> tuple[Ledger, str]:
    """A borrower in Albany whose guarantor is called on day 4; the call's attempt id."""
    ledger = Ledger()
    before = NOON_NY - timedelta(days=1)
    albany = Address(country="US", region="NY", city="Albany", postal_code="12207")
    profile = BorrowerProfiled(
        party_id=B, name="Ann", addresses=(albany,), phones=(Phone(number=MOBILE),)
    )
    ledger.send(B, profile, before)
    usd = Money(amount=Decimal(500), currency="USD")
    loan = LoanOpened(
        loan_id="L1",
        product="p",
        principal=usd,
        guarantor_contact_allowed=True,
        third_party_collector=False,
    )
    ledger.send(B, loan, before)
    phone = Phone(number=GUARANTOR, type=PhoneType.MOBILE)
    link = PartyLinked(
        loan_id="L1", party_id="g1", role=PartyRole.GUARANTOR, name="Bo", phones=(phone,)
    )
    ledger.send(B, link, before)
    grant = ConsentGranted(
        party_id="g1", channel=Channel.CALL, address=GUARANTOR, received_at=before
    )
    ledger.send(B, grant, before)
    overdue = Money(amount=Decimal(50), currency="USD")
    snapshot = DelinquencyUpdated(
        loan_id="L1", days_past_due=4, amount_overdue=overdue, as_of=NOON_NY.date()
    )
    ledger.send(B, snapshot, NOON_NY)
    [attempt] = [
        d["payload"]["attempt_id"]
        for e in ledger.entries
        for d in json.loads(e.value)["derived"]
        if d["type"] == "task.call" and d["payload"]["party_id"] == "g1"
    ]
    return ledger, attempt


def test_a_guarantors_call_sent_after_the_borrowers_chapter_13_filing_is_a_violation() -> None:
    ledger, attempt = _guarantor_called()
    ledger.send(B, BankruptcyFiled(party_id=B, chapter=13), NOON_NY + MINUTE)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + 2 * MINUTE, Channel.CALL, vendor="v")

    [f] = auditor.report.findings
    assert (f.code, f.kind, f.detail) == (
        "dispatch_during_hold",
        "violation",
        "hold:co_debtor_stay",
    )


def test_after_a_chapter_7_filing_the_guarantors_call_may_go() -> None:
    ledger, attempt = _guarantor_called()
    ledger.send(B, BankruptcyFiled(party_id=B, chapter=7), NOON_NY + MINUTE)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + 2 * MINUTE, Channel.CALL, vendor="v")

    assert auditor.report.ok, auditor.report.findings


def test_a_task_that_leaves_the_mark_off_is_reported() -> None:
    """The worker holds a task by its mark: one written without it would escape the stay."""
    ledger, attempt = _guarantor_called()

    def unmark(doc: dict[str, object]) -> None:
        for d in doc["derived"]:  # type: ignore[attr-defined]
            d["payload"].pop("co_debtor_stay", None)

    entries = [edited(e, unmark) if attempt in e.value.decode() else e for e in ledger.entries]

    codes = {f.code for f in audit(ledger, entries).report.findings}

    assert "task_differs_from_authorisation" in codes
