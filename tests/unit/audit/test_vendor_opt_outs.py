"""The audit and texts the vendor refused because the person opted out with it (TC-2): the
refusal must be kept with the number and revoke texts to it, and only such a refusal may give a
revocation in an outcome's entry. Its TC-3 evidence says where the opt-out came from."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from contracts import ContactOutcomeRecorded, RequestContact
from contracts.outcomes import OutcomeKind
from contracts.values import Channel
from tests.unit.audit.ledgers import (
    MOBILE,
    NOON_NY,
    OUTCOMES,
    B,
    Ledger,
    audit,
    edited,
    ny_borrower,
)

REFUSED_AT = NOON_NY + timedelta(minutes=1)


def refused_text() -> Ledger:
    """Ann's lender texts her at noon; the vendor refuses it: she had texted STOP to it."""
    ledger = ny_borrower()
    request = RequestContact(
        request_id="desk-1",
        party_id=B,
        loan_id="L1",
        channel=Channel.SMS,
        to=MOBILE,
        requested_by="agent-7",
    )
    ledger.send(B, request, NOON_NY)
    [decided] = [
        d["payload"]
        for d in json.loads(ledger.entries[-1].value)["derived"]
        if d["type"] == "contact.decided"
    ]
    assert decided["verdict"] == "authorised"
    outcome = ContactOutcomeRecorded(
        attempt_id=decided["attempt_id"],
        channel=Channel.SMS,
        outcome=OutcomeKind.OPTED_OUT,
        vendor="twilio",
        reported_at=REFUSED_AT,
        detail="http_400 code=21610",
    )
    ledger.send(B, outcome, REFUSED_AT, topic=OUTCOMES)
    return ledger


def _drop(kind: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        doc["derived"] = [d for d in doc["derived"] if d["type"] != kind]

    return edit


def _tc2(ledger: Ledger, edit: Any) -> list[str]:
    *before, refusal = ledger.entries
    report = audit(ledger, [*before, edited(refusal, edit)]).report
    return [
        f.detail for f in report.findings if (f.code, f.rule) == ("opt_out_not_honoured", "TC-2")
    ]


def test_a_log_that_applied_the_refusal_is_in_order_at_both_depths() -> None:
    ledger = refused_text()

    for rederive in (False, True):
        report = audit(ledger, rederive=rederive).report
        assert report.ok, report.findings
    [r] = report.revocations
    assert (r.source, r.received_at, r.processed_at, r.on_time) == (
        "vendor",
        REFUSED_AT,
        REFUSED_AT,
        True,
    )


def test_a_refusal_that_revoked_no_one_is_a_tc2_violation() -> None:
    [detail] = _tc2(refused_text(), _drop("consent.revoked"))

    assert f"no revocation for {B}" in detail


def test_a_refusal_not_kept_with_the_number_is_a_tc2_violation() -> None:
    [detail] = _tc2(refused_text(), _drop("number.opted_out"))

    assert "not kept with the number" in detail


def test_a_revocation_after_any_other_refusal_is_not_parleys() -> None:
    """Added to the entry of a text refused for another reason, a revocation would be folded as
    if Parley had derived it."""

    def failed(doc: dict[str, Any]) -> None:
        doc["event"]["payload"]["outcome"] = "failed"

    ledger = refused_text()
    *before, refusal = ledger.entries
    report = audit(ledger, [*before, edited(refusal, failed)]).report

    assert {f.code for f in report.findings} == {"underivable_event"}
