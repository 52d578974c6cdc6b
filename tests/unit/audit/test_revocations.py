"""TC-3: every revocation honoured within 10 business days of receipt, and never followed by a
dispatch to the address it revoked (P6)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from contracts import (
    ConsentGranted,
    ConsentRevoked,
    PartyLinked,
    RequestContact,
)
from contracts.values import Channel, PartyRole, Phone, PhoneType
from events.records import Out
from services.audit.core.replay import Auditor
from services.audit.render import lag, render_html, render_terminal
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

EASTERN = ZoneInfo("America/New_York")


# -- the evidence in the audit ---------------------------------------------------------------


def _revoke(ledger: Ledger, received_at: datetime, processed_at: datetime, **kw: object) -> None:
    fields = {"party_id": B, "channel": Channel.SMS, "address": MOBILE} | kw
    ledger.send(B, ConsentRevoked(received_at=received_at, **fields), processed_at)  # type: ignore[arg-type]


def test_a_revocation_processed_after_ten_business_days_is_a_tc3_violation() -> None:
    ledger = ny_borrower()
    received = NOON_NY - timedelta(days=20)  # Tuesday 2026-06-16

    _revoke(ledger, received, NOON_NY)

    report = audit(ledger).report

    [late] = [f for f in report.violations if f.rule == "TC-3"]
    assert late.code == "revocation_processed_late"
    [r] = report.revocations
    assert (r.source, r.received_at, r.processed_at) == ("upstream", received, NOON_NY)
    # ten business days on, Juneteenth (Friday 06-19) skipped: by the end of Wednesday 07-01
    assert r.deadline == datetime(2026, 7, 2, 0, 0, tzinfo=EASTERN)
    assert r.on_time is False
    assert report.revocations_late == 1
    summary = report.as_dict()["revocations"]
    assert (summary["count"], summary["late"], summary["max_lag_seconds"]) == (1, 1, 20 * 86400)


def test_a_revocation_processed_in_time_is_evidence_and_no_finding() -> None:
    ledger = ny_borrower()
    _revoke(ledger, NOON_NY - timedelta(days=3), NOON_NY)

    report = audit(ledger).report

    assert report.ok, report.findings
    assert [r.on_time for r in report.revocations] == [True]
    assert report.as_dict()["revocations"]["median_lag_seconds"] == 3 * 86400


def test_an_email_opt_out_is_listed_but_outside_tc3() -> None:
    ledger = ny_borrower()
    _revoke(
        ledger,
        NOON_NY - timedelta(days=40),
        NOON_NY,
        channel=Channel.EMAIL,
        address="ann@mail.example",
    )

    report = audit(ledger).report

    assert report.ok, report.findings
    assert [(r.deadline, r.on_time) for r in report.revocations] == [(None, None)]


def _reply(ledger: Ledger, body: str, received_at: datetime, processed_at: datetime) -> None:
    """A text from the borrower's mobile, applied by the orchestrator at ``processed_at``."""
    reply_from(ledger, MOBILE, body, received_at, processed_at)


def test_a_stop_reply_is_a_revocation_processed_when_the_reply_was() -> None:
    ledger = ny_borrower()
    received = NOON_NY - timedelta(minutes=3)
    _reply(ledger, "STOP", received, NOON_NY)

    [r] = audit(ledger).report.revocations

    assert (r.source, r.received_at, r.processed_at, r.on_time) == (
        "reply",
        received,
        NOON_NY,
        True,
    )


def test_a_stop_reply_that_revoked_nothing_is_a_tc2_violation() -> None:
    """The audit does not take the log's word that a reply was not an opt-out: it reads every
    reply from a number on file against the policy's opt-out words."""
    ledger = ny_borrower()
    _reply(ledger, "Stop", NOON_NY, NOON_NY)

    def forget(doc: dict[str, Any]) -> None:
        doc["derived"] = [d for d in doc["derived"] if d["type"] != "consent.revoked"]

    honoured = audit(ledger).report
    forgotten = audit(ledger, [*ledger.entries[:-1], edited(ledger.entries[-1], forget)]).report

    assert honoured.ok, honoured.findings
    [f] = [f for f in forgotten.findings if f.code == "opt_out_not_honoured"]
    assert (f.kind, f.rule, f.borrower_id) == ("violation", "TC-2", B)
    # and the confirmation text, decided on a state with the revocation, is no longer reproduced
    assert "decision_not_reproduced" in {f.code for f in forgotten.findings}


def test_a_stop_reply_that_revoked_only_email_is_a_tc2_violation() -> None:
    """The revocation must be of texts to that number, for every purpose, from receipt."""
    ledger = ny_borrower()
    _reply(ledger, "STOP", NOON_NY, NOON_NY)

    def email_only(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "consent.revoked":
                d["payload"]["channel"] = "email"

    report = audit(ledger, [*ledger.entries[:-1], edited(ledger.entries[-1], email_only)]).report

    assert "opt_out_not_honoured" in {f.code for f in report.findings}


def _household(ledger: Ledger) -> None:
    """A guarantor linked with the borrower's mobile (a shared household phone), texts allowed."""
    t0 = NOON_NY - timedelta(hours=3)
    ledger.send(
        B,
        PartyLinked(
            loan_id="L1",
            party_id="g1",
            role=PartyRole.GUARANTOR,
            name="Bo",
            phones=(Phone(number=MOBILE, type=PhoneType.MOBILE),),
        ),
        t0,
    )
    ledger.send(
        B,
        ConsentGranted(party_id="g1", channel=Channel.SMS, address=MOBILE, received_at=t0),
        t0,
    )


def test_a_stop_from_a_shared_number_revokes_it_for_everyone_on_file_with_it() -> None:
    """Who of the household sent STOP is unknown, so it binds each of them (P6): the borrower is
    not texted there an hour later, and the audit finds the log in order."""
    ledger = ny_borrower()
    _household(ledger)
    _reply(ledger, "STOP", NOON_NY - timedelta(hours=1), NOON_NY - timedelta(hours=1))
    revoked = [r["party_id"] for r in _derived(ledger.entries[-1], "consent.revoked")]
    [decided] = _request_text(ledger, NOON_NY)

    assert sorted(revoked) == [B, "g1"]
    assert decided["verdict"] == "suppressed"
    assert audit(ledger).report.ok


def test_a_stop_from_a_shared_number_revoked_for_one_holder_only_is_a_tc2_violation() -> None:
    ledger = ny_borrower()
    _household(ledger)
    _reply(ledger, "STOP", NOON_NY, NOON_NY)

    def borrower_kept(doc: dict[str, Any]) -> None:
        doc["derived"] = [
            d
            for d in doc["derived"]
            if d["type"] != "consent.revoked" or d["payload"]["party_id"] != B
        ]

    report = audit(ledger, [*ledger.entries[:-1], edited(ledger.entries[-1], borrower_kept)]).report

    [f] = [f for f in report.findings if f.code == "opt_out_not_honoured"]
    assert f.detail.endswith(f"for {B} (sms)")


def test_stop_calling_without_the_calls_revoked_is_a_tc2_violation() -> None:
    """RF-17: a reply naming calls revokes calls at every number; a log that revoked only the
    texts to that number did not honour it (session 14)."""
    ledger = ny_borrower()
    _reply(ledger, "Stop calling me", NOON_NY, NOON_NY)
    assert audit(ledger).report.ok

    def calls_kept(doc: dict[str, Any]) -> None:
        doc["derived"] = [
            d
            for d in doc["derived"]
            if d["type"] != "consent.revoked" or d["payload"]["channel"] != "call"
        ]

    report = audit(ledger, [*ledger.entries[:-1], edited(ledger.entries[-1], calls_kept)]).report

    [f] = [f for f in report.findings if f.code == "opt_out_not_honoured"]
    assert f.detail.endswith(f"for {B} (call)")


def test_a_reply_without_an_opt_out_word_needs_no_revocation() -> None:
    ledger = ny_borrower()
    _reply(ledger, "I will pay on Friday", NOON_NY, NOON_NY)

    report = audit(ledger).report

    assert report.ok, report.findings
    assert report.revocations == []


# -- dispatches after a revocation -----------------------------------------------------------


def _derived(entry: Out, kind: str) -> list[dict[str, Any]]:
    """The payloads of the events of one kind an entry derived."""
    return [d["payload"] for d in json.loads(entry.value)["derived"] if d["type"] == kind]


def _request_text(ledger: Ledger, at: datetime, request_id: str = "r1") -> list[dict[str, Any]]:
    """A desk asks to text the borrower's mobile at ``at``: the decisions that followed."""
    ledger.send(
        B,
        RequestContact(
            request_id=request_id,
            party_id=B,
            loan_id="L1",
            channel=Channel.SMS,
            to=MOBILE,
            requested_by="desk",
        ),
        at,
    )
    return _derived(ledger.entries[-1], "contact.decided")


def _authorised_text(ledger: Ledger, at: datetime, request_id: str = "r1") -> str:
    decided = _request_text(ledger, at, request_id)
    assert [d["verdict"] for d in decided] == ["authorised"]
    return str(decided[0]["attempt_id"])


def test_a_dispatch_after_the_revocation_is_processed_is_counted_against_it() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    _revoke(ledger, NOON_NY, NOON_NY + timedelta(minutes=1))
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + timedelta(minutes=2), Channel.SMS)

    assert [f.code for f in auditor.report.findings] == ["dispatch_after_revocation"]
    assert [r.dispatches_after for r in auditor.report.revocations] == [1]
    assert auditor.report.as_dict()["revocations"]["dispatched_after"] == 1


def test_a_dispatch_before_the_revocation_is_processed_is_not() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    _revoke(ledger, NOON_NY, NOON_NY + timedelta(minutes=5))
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + timedelta(minutes=2), Channel.SMS)

    assert auditor.report.ok, auditor.report.findings


def test_consent_given_again_ends_the_revocation() -> None:
    """The gate's own consent rules: a later grant at least as specific supersedes it."""
    ledger = ny_borrower()
    _revoke(ledger, NOON_NY - timedelta(hours=2), NOON_NY - timedelta(hours=2))
    again = NOON_NY - timedelta(hours=1)
    ledger.send(
        B, ConsentGranted(party_id=B, channel=Channel.SMS, address=MOBILE, received_at=again), again
    )
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + timedelta(minutes=1), Channel.SMS)

    assert auditor.report.ok, auditor.report.findings
    assert [r.dispatches_after for r in auditor.report.revocations] == [0]


def test_a_revocation_of_every_number_covers_the_number_dispatched_to() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    _revoke(ledger, NOON_NY, NOON_NY + timedelta(minutes=1), address=None)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + timedelta(minutes=2), Channel.SMS)

    assert [f.code for f in auditor.report.findings] == ["dispatch_after_revocation"]
    assert [(r.scope, r.dispatches_after) for r in auditor.report.revocations] == [("medium", 1)]


def test_merged_shards_count_dispatches_against_the_right_revocation() -> None:
    """Revocations are numbered per shard; merging renumbers those of the shard merged in."""
    other = ny_borrower()
    _revoke(other, NOON_NY - timedelta(days=2), NOON_NY - timedelta(days=2), address=None)
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    _revoke(ledger, NOON_NY, NOON_NY + timedelta(minutes=1))
    merged: Auditor = audit(other)
    merged.merge(audit(ledger).part())

    merged.dispatch(B, attempt, NOON_NY + timedelta(minutes=2), Channel.SMS)

    assert [r.dispatches_after for r in merged.report.revocations] == [0, 1]


# -- the report ------------------------------------------------------------------------------


def test_the_reports_summarise_the_revocations(tmp_path: Path) -> None:
    ledger = ny_borrower()
    _revoke(ledger, NOON_NY - timedelta(days=20), NOON_NY)
    report = audit(ledger).report
    console = Console(record=True, width=120)

    render_terminal(console, report)
    render_html(tmp_path / "audit.html", report)

    text = console.export_text()
    assert "Consent revocations" in text
    assert "late (TC-3 violations)" in text
    html = (tmp_path / "audit.html").read_text()
    assert "late (TC-3 violations)" in html
    assert "20.0 days" in html
    assert MOBILE not in text + html  # P7: the evidence names no address


def test_a_lag_reads_in_minutes_hours_or_days() -> None:
    assert [lag(s) for s in (None, 180, 5400, 3 * 86400)] == ["-", "3 min", "1.5 h", "3.0 days"]
