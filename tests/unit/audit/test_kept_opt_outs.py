"""The audit and opt-outs kept with their number: a STOP from a number not on file must be kept,
the profile or link that later gives the number must revoke it for that person, and only a kept
opt-out may give a revocation there (TC-2). Its TC-3 lag runs to when it was kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from contracts import BorrowerProfiled, PartyLinked, RequestContact
from contracts.values import Address, Channel, PartyRole, Phone, PhoneType
from tests.unit.audit.ledgers import (
    MOBILE,
    NOON_NY,
    B,
    Ledger,
    audit,
    edited,
    ny_borrower,
    reply_from,
)

NEW = "+15185550188"  # Ann's new mobile, not on file when it says STOP


def _stop_from_new(ledger: Ledger, received_at: datetime, body: str = "STOP") -> None:
    reply_from(ledger, NEW, body, received_at, received_at)


def _profile_with_new(ledger: Ledger, at: datetime) -> None:
    ledger.send(
        B,
        BorrowerProfiled(
            party_id=B,
            name="Ann",
            addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
            phones=(Phone(number=MOBILE, type=PhoneType.MOBILE), Phone(number=NEW)),
        ),
        at,
    )


def _codes(ledger: Ledger, entries: list[Any] | None = None) -> set[str]:
    return {f.code for f in audit(ledger, entries).report.findings}


def _drop(kind: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        doc["derived"] = [d for d in doc["derived"] if d["type"] != kind]

    return edit


def test_a_log_that_kept_and_applied_the_stop_is_in_order_at_both_depths() -> None:
    ledger = ny_borrower()
    _stop_from_new(ledger, NOON_NY)
    _profile_with_new(ledger, NOON_NY + timedelta(minutes=1))
    request = RequestContact(
        request_id="desk-1", party_id=B, loan_id="L1", channel=Channel.SMS, to=NEW, requested_by="a"
    )
    ledger.send(B, request, NOON_NY + timedelta(hours=1))

    for rederive in (False, True):
        report = audit(ledger, rederive=rederive).report
        assert report.ok, report.findings
    [decided] = [
        d["payload"] for d in _derived(ledger.entries[-1]) if d["type"] == "contact.decided"
    ]
    assert decided["verdict"] == "suppressed"


def test_a_stop_from_a_number_not_on_file_that_was_not_kept_is_a_tc2_violation() -> None:
    ledger = ny_borrower()
    _stop_from_new(ledger, NOON_NY)
    *before, stop_entry = ledger.entries

    report = audit(ledger, [*before, edited(stop_entry, _drop("number.opted_out"))]).report

    [f] = [f for f in report.findings if f.code == "opt_out_not_honoured"]
    assert (f.kind, f.rule, f.borrower_id) == ("violation", "TC-2", B)


def test_a_profile_that_did_not_apply_a_kept_stop_is_a_tc2_violation() -> None:
    ledger = ny_borrower()
    _stop_from_new(ledger, NOON_NY)
    _profile_with_new(ledger, NOON_NY + timedelta(minutes=1))
    *before, profile_entry = ledger.entries

    report = audit(ledger, [*before, edited(profile_entry, _drop("consent.revoked"))]).report

    [f] = [f for f in report.findings if f.code == "opt_out_not_honoured"]
    assert (f.kind, f.rule) == ("violation", "TC-2")


def test_a_revocation_in_a_profile_entry_that_no_kept_stop_gives_is_not_parleys() -> None:
    """Added to a profile entry, a revocation would be folded as if Parley had derived it; only
    a kept opt-out for one of the person's numbers, from when it was received, gives one."""
    ledger = ny_borrower()
    _stop_from_new(ledger, NOON_NY)
    _profile_with_new(ledger, NOON_NY + timedelta(minutes=1))
    *before, profile_entry = ledger.entries

    def moved(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "consent.revoked":
                d["payload"]["received_at"] = "2026-07-06T15:00:00Z"  # not when the STOP came

    assert "underivable_event" not in _codes(ledger)
    assert "underivable_event" in _codes(ledger, [*before, edited(profile_entry, moved)])


def test_a_kept_opt_out_counts_as_honoured_when_it_was_kept() -> None:
    """TC-3 runs from receipt to when Parley held the number revoked: the STOP's entry, not
    the profile applied weeks later."""
    ledger = ny_borrower()
    _stop_from_new(ledger, NOON_NY)
    _profile_with_new(ledger, NOON_NY + timedelta(days=30))

    report = audit(ledger).report

    [r] = report.revocations
    assert (r.source, r.processed_at, r.on_time) == ("kept", NOON_NY, True)
    assert report.ok, report.findings


def test_a_person_linked_at_a_number_that_said_stop_is_revoked_and_the_audit_agrees() -> None:
    ledger = ny_borrower()
    reply_from(ledger, MOBILE, "STOP", NOON_NY, NOON_NY)
    link = PartyLinked(
        loan_id="L1",
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        name="Carl",
        phones=(Phone(number=MOBILE),),
    )
    ledger.send(B, link, NOON_NY + timedelta(minutes=1))

    revoked = [d["payload"] for d in _derived(ledger.entries[-1]) if d["type"] == "consent.revoked"]

    assert [(r["party_id"], r["address"]) for r in revoked] == [("c1", MOBILE)]
    report = audit(ledger, rederive=True).report
    assert report.ok, report.findings


def _derived(out: Any) -> list[dict[str, Any]]:
    derived: list[dict[str, Any]] = json.loads(out.value)["derived"]
    return derived


def test_a_stop_recorded_before_replies_were_kept_is_not_held_to_it() -> None:
    """An entry written by a core from before revision 11 could not keep the reply: a log
    that revoked it as that core did is in order."""
    ledger = ny_borrower()
    reply_from(ledger, MOBILE, "STOP", NOON_NY, NOON_NY)
    *before, stop_entry = ledger.entries

    def as_written_by_r10(doc: dict[str, Any]) -> None:
        _drop("number.opted_out")(doc)
        doc["strategy_version"] = doc["strategy_version"].rpartition(".r")[0] + ".r10"

    report = audit(ledger, [*before, edited(stop_entry, as_written_by_r10)]).report

    assert "opt_out_not_honoured" not in {f.code for f in report.findings}
