"""TC-3 for a revocation of someone not on file yet (it came before their profile): the deadline
comes from where the revoked number is; with no number to go by, a revocation processed after
the earliest deadline any pack sets is an unverifiable finding, never a silent pass."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts import BorrowerProfiled, ConsentRevoked
from contracts.values import Channel, Phone
from tests.unit.audit.ledgers import MOBILE, NOON_NY, B, Ledger, audit

EASTERN = ZoneInfo("America/New_York")
RECEIVED = NOON_NY - timedelta(days=20)  # Tuesday 2026-06-16


def _revoked_first(
    address: str | None, processed: datetime, channel: Channel = Channel.SMS
) -> Ledger:
    """A ledger whose first entry is a revocation: nobody is on file yet."""
    ledger = Ledger()
    ledger.send(
        B,
        ConsentRevoked(party_id=B, channel=channel, address=address, received_at=RECEIVED),
        processed,
    )
    return ledger


def test_a_late_revocation_of_a_us_number_not_on_file_is_a_tc3_violation() -> None:
    report = audit(_revoked_first(MOBILE, NOON_NY)).report

    [f] = report.findings
    assert (f.kind, f.code, f.rule) == ("violation", "revocation_processed_late", "TC-3")
    [r] = report.revocations
    # as for a person on file in New York: ten business days, Juneteenth skipped
    assert r.deadline == datetime(2026, 7, 2, 0, 0, tzinfo=EASTERN)
    assert r.on_time is False


def test_a_revocation_of_a_us_number_not_on_file_processed_in_time_passes() -> None:
    report = audit(_revoked_first(MOBILE, RECEIVED + timedelta(days=2))).report

    assert report.ok, report.findings
    assert [r.on_time for r in report.revocations] == [True]


def test_a_number_whose_place_has_no_such_rule_has_no_deadline() -> None:
    """A London number: the jurisdiction is known, and no pack of it sets a TC-3 deadline."""
    report = audit(_revoked_first("+442079460000", NOON_NY)).report

    assert report.ok, report.findings
    assert [r.deadline for r in report.revocations] == [None]


def test_a_late_revocation_of_a_whole_medium_by_someone_not_on_file_is_unverifiable() -> None:
    report = audit(_revoked_first(None, NOON_NY)).report

    [f] = report.findings
    assert (f.kind, f.code) == ("unverifiable", "revocation_deadline_unknown")
    assert [r.deadline for r in report.revocations] == [None]


def test_one_processed_before_every_packs_deadline_needs_no_place() -> None:
    report = audit(_revoked_first(None, RECEIVED + timedelta(days=1))).report

    assert report.ok, report.findings


def test_an_email_revocation_is_outside_tc3_wherever_the_person_is() -> None:
    report = audit(_revoked_first("ann@mail.example", NOON_NY, Channel.EMAIL)).report

    assert report.ok, report.findings


def test_a_whole_medium_revocation_by_someone_not_yet_linked_takes_the_borrowers_place() -> None:
    """The borrower is on file (a New York mobile, no address); a person not linked to any
    debt yet revokes texts on every number: their deadline is the borrower's place's, as it
    was before such a person was kept under their own id."""
    ledger = Ledger()
    ledger.send(
        B, BorrowerProfiled(party_id=B, name="Ann", phones=(Phone(number=MOBILE),)), RECEIVED
    )
    revoked = ConsentRevoked(party_id="g1", channel=Channel.SMS, address=None, received_at=RECEIVED)
    ledger.send(B, revoked, NOON_NY)

    report = audit(ledger).report

    [f] = report.findings
    assert (f.kind, f.code, f.rule) == ("violation", "revocation_processed_late", "TC-3")
