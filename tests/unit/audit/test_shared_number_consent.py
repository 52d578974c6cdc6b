"""A revocation binds the person who gave it, as the gate and the channel worker's re-check read
consent (each person's own records), not everyone on any file with the same number. A STOP from
a number several borrowers share is routed to each of them, and each records its own revocation,
so a dispatch after a STOP is still found."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    ConsentRevoked,
    LoanOpened,
    RequestContact,
)
from contracts.values import Address, Channel, Money, Phone, PhoneType
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
from tests.unit.audit.test_revocations import _authorised_text, _derived, _household
from tests.unit.orchestrator.builders import stop

B2 = "b2"
MINUTE = timedelta(minutes=1)


def _second_borrower(ledger: Ledger) -> None:
    """Another borrower, on another file, with the same mobile (a household's phone)."""
    at = NOON_NY - timedelta(days=1)
    ledger.send(
        B2,
        BorrowerProfiled(
            party_id=B2,
            name="Bob",
            addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
            phones=(Phone(number=MOBILE, type=PhoneType.MOBILE),),
            emails=(),
        ),
        at,
    )
    ledger.send(
        B2, ConsentGranted(party_id=B2, channel=Channel.SMS, address=MOBILE, received_at=at), at
    )
    ledger.send(
        B2,
        LoanOpened(
            loan_id="L2",
            product="p",
            principal=Money(amount=Decimal(300), currency="USD"),
            third_party_collector=False,
        ),
        at,
    )


def _text_b2(ledger: Ledger, at: Any) -> dict[str, Any]:
    ledger.send(
        B2,
        RequestContact(
            request_id="r2",
            party_id=B2,
            loan_id="L2",
            channel=Channel.SMS,
            to=MOBILE,
            requested_by="desk",
        ),
        at,
    )
    [decided] = _derived(ledger.entries[-1], "contact.decided")
    return decided


def _stop(ledger: Ledger, borrower: str, at: Any, *, confirms: bool) -> None:
    reply = stop(MOBILE, "SM1", received_at=at, confirms_opt_out=confirms)
    ledger.send(borrower, reply, at, topic=OUTCOMES)


def test_another_borrowers_revocation_does_not_bind_this_borrowers_dispatch() -> None:
    ledger = ny_borrower()
    _second_borrower(ledger)
    revoked = NOON_NY - timedelta(hours=2)
    ledger.send(
        B,
        ConsentRevoked(party_id=B, channel=Channel.SMS, address=MOBILE, received_at=revoked),
        revoked,
    )
    decided = _text_b2(ledger, NOON_NY)
    auditor = audit(ledger)

    auditor.dispatch(B2, decided["attempt_id"], NOON_NY + MINUTE, Channel.SMS)

    assert decided["verdict"] == "authorised"  # b2's own consent stands, as the gate reads it
    assert auditor.report.ok, auditor.report.findings
    assert [r.dispatches_after for r in auditor.report.revocations] == [0]


def test_a_stop_routed_to_every_borrower_with_the_number_binds_each_dispatch() -> None:
    """b2's text was authorised before the STOP and dispatched after it: b2's own revocation,
    recorded from its copy of the reply, is what the dispatch broke."""
    ledger = ny_borrower()
    _second_borrower(ledger)
    decided = _text_b2(ledger, NOON_NY)
    _stop(ledger, B, NOON_NY + MINUTE, confirms=True)
    _stop(ledger, B2, NOON_NY + MINUTE, confirms=False)
    auditor = audit(ledger)
    assert auditor.report.ok, auditor.report.findings

    auditor.dispatch(B2, decided["attempt_id"], NOON_NY + 2 * MINUTE, Channel.SMS)

    [f] = auditor.report.findings
    assert (f.code, f.borrower_id) == ("dispatch_after_revocation", B2)
    assert [(r.borrower_id, r.dispatches_after) for r in auditor.report.revocations] == [
        (B, 0),
        (B2, 1),
    ]


def test_a_guarantors_revocation_does_not_bind_a_text_to_the_borrower() -> None:
    """One file, one household phone: the guarantor revokes texts to it; the borrower's own
    consent to it stands for the gate, and so for the audit."""
    ledger = ny_borrower()
    _household(ledger)
    revoked = NOON_NY - timedelta(hours=1)
    ledger.send(
        B,
        ConsentRevoked(party_id="g1", channel=Channel.SMS, address=MOBILE, received_at=revoked),
        revoked,
    )
    attempt = _authorised_text(ledger, NOON_NY)  # the gate authorises it
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS)

    assert auditor.report.ok, auditor.report.findings


def test_a_stop_revoked_for_the_guarantor_only_is_found_by_tc2() -> None:
    """Scoped per person, a forged entry that revoked the shared number for the guarantor only
    lets a later dispatch to the borrower pass the dispatch check; TC-2 still reports the entry,
    and the confirmation decided on the state with the borrower's revocation no longer
    reproduces."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY - timedelta(minutes=5))
    _household(ledger)
    _stop(ledger, B, NOON_NY, confirms=True)

    def borrower_kept(doc: dict[str, Any]) -> None:
        doc["derived"] = [
            d
            for d in doc["derived"]
            if d["type"] != "consent.revoked" or d["payload"]["party_id"] != B
        ]

    entries = [*ledger.entries[:-1], edited(ledger.entries[-1], borrower_kept)]
    auditor = audit(ledger, entries)
    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS)

    codes = {f.code for f in auditor.report.findings}
    assert "opt_out_not_honoured" in codes
    assert "dispatch_after_revocation" not in codes
