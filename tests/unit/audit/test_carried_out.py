"""What the default audit proves beyond each decision: that tasks and dispatches carry out the
decision as it was made, that no hold applied after it was overlooked at dispatch (P6), and that
the log's own bookkeeping (a duplicate mark) cannot hide a fact from the re-proof."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from contracts import BankruptcyFiled, BorrowerProfiled, DisputeOpened, DisputeResolved, Message
from contracts.values import Address, Channel, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Record
from services.audit.core.replay import Auditor
from tests.unit.audit.ledgers import (
    NOON_NY,
    PARTITIONS,
    UPSTREAM,
    B,
    Ledger,
    audit,
    edited,
    ny_borrower,
)
from tests.unit.audit.test_revocations import _authorised_text

MINUTE = timedelta(minutes=1)


def _codes(auditor: Auditor) -> set[str]:
    return {f.code for f in auditor.report.findings}


def _task_edited(ledger: Ledger, edit: Any) -> list[Any]:
    def on_task(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"].startswith("task."):
                edit(d["payload"])

    return [*ledger.entries[:-1], edited(ledger.entries[-1], on_task)]


# -- tasks ------------------------------------------------------------------------------------


def test_a_task_as_decided_passes() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)
    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS)

    assert auditor.report.ok, auditor.report.findings


@pytest.mark.parametrize(
    ("field", "value", "differ"),
    [
        ("to", "+14155550199", "to"),  # a number the gate never saw
        ("purpose", "reminder", "purpose"),
        ("party_id", "someone-else", "party"),
        ("loan_id", "L9", "debt"),
    ],
)
def test_a_task_that_differs_from_its_authorisation_is_a_violation(
    field: str, value: str, differ: str
) -> None:
    """The gate proved one contact; a task to another address, person, debt or purpose was not
    proved by it, even though the decision itself re-proves."""
    ledger = ny_borrower()
    _authorised_text(ledger, NOON_NY)

    report = audit(ledger, _task_edited(ledger, lambda p: p.update({field: value}))).report

    [f] = [f for f in report.findings if f.code == "task_differs_from_authorisation"]
    assert (f.kind, f.detail) == ("violation", f"{differ} differ")


def test_a_text_without_an_opt_out_notice_is_an_rf16_violation() -> None:
    ledger = ny_borrower()
    _authorised_text(ledger, NOON_NY)

    report = audit(ledger, _task_edited(ledger, lambda p: p.update(body="Pay now."))).report

    [f] = [f for f in report.findings if f.code == "opt_out_notice_missing"]
    assert (f.kind, f.rule) == ("violation", "RF-16")


def test_a_task_for_an_attempt_never_authorised_is_a_violation() -> None:
    ledger = ny_borrower()
    _authorised_text(ledger, NOON_NY)

    def unauthorised(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "contact.decided":
                d["payload"]["attempt_id"] = "other-attempt"  # the task's attempt: not decided

    entries = [*ledger.entries[:-1], edited(ledger.entries[-1], unauthorised)]

    assert "task_without_authorisation" in _codes(audit(ledger, entries))


# -- dispatch records -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("borrower", "channel"), [(B, Channel.EMAIL), ("b2", Channel.SMS)], ids=["medium", "borrower"]
)
def test_a_dispatch_in_another_medium_or_for_another_borrower_is_a_violation(
    borrower: str, channel: Channel
) -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)
    auditor.dispatch(borrower, attempt, NOON_NY + MINUTE, channel)

    assert _codes(auditor) == {"dispatch_differs_from_authorisation"}


@pytest.mark.parametrize(
    ("fact", "hold"),
    [
        (DisputeOpened(loan_id="L1"), "hold:dispute"),
        (BankruptcyFiled(party_id=B), "hold:bankruptcy"),
        # The profile drops the number (reassigned): P1-DEST binds at dispatch too.
        (
            BorrowerProfiled(
                party_id=B,
                name="Ann",
                addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
                phones=(Phone(number="+15185550188", type=PhoneType.MOBILE),),
            ),
            "hold:unknown_destination",
        ),
    ],
    ids=["dispute", "bankruptcy", "number-dropped"],
)
def test_a_dispatch_after_a_hold_was_applied_is_a_violation(fact: Message, hold: str) -> None:
    """P6: the hold reached Parley after the decision; the channel worker's re-check must stop
    the task, and a dispatch record after the hold shows it did not."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    ledger.send(B, fact, NOON_NY + MINUTE)
    auditor = audit(ledger)
    # Started twice (to a vendor that de-duplicates on the attempt id, so no P2 finding): once
    # before the hold, once after it.
    for at in (NOON_NY + 30 * timedelta(seconds=1), NOON_NY + 2 * MINUTE):
        auditor.dispatch(B, attempt, at, Channel.SMS, vendor="v", vendor_deduplicates=True)

    [f] = auditor.report.findings
    assert (f.code, f.kind, f.detail) == ("dispatch_during_hold", "violation", hold)


def test_a_dispatch_at_the_instant_a_hold_is_applied_is_not_held() -> None:
    """As with a revocation, a hold binds a dispatch once applied before it: at the same
    instant the channel worker cannot have read it."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    ledger.send(B, DisputeOpened(loan_id="L1"), NOON_NY + MINUTE)
    auditor = audit(ledger)
    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS)

    assert auditor.report.ok, auditor.report.findings


def test_a_dispatch_after_the_hold_is_lifted_passes() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    ledger.send(B, DisputeOpened(loan_id="L1"), NOON_NY + MINUTE)
    ledger.send(B, DisputeResolved(loan_id="L1"), NOON_NY + 2 * MINUTE)
    auditor = audit(ledger)
    auditor.dispatch(B, attempt, NOON_NY + 3 * MINUTE, Channel.SMS)

    assert auditor.report.ok, auditor.report.findings


# -- duplicates -------------------------------------------------------------------------------


def test_a_first_event_marked_duplicate_is_a_mismatch_and_still_folded() -> None:
    """A duplicate mark drops an event's effect; on an event never seen before it would hide a
    dispute from the re-proof of every later decision."""
    ledger = ny_borrower()
    ledger.send(B, DisputeOpened(loan_id="L1"), NOON_NY - timedelta(hours=1))
    clean = ny_borrower()
    _authorised_text(clean, NOON_NY)

    def as_duplicate(doc: dict[str, Any]) -> None:
        doc["duplicate"], doc["derived"] = True, []

    forged = [*clean.entries[:-1], edited(ledger.entries[-1], as_duplicate), clean.entries[-1]]
    assert json.loads(ledger.entries[-1].value)["duplicate"] is False

    codes = _codes(audit(clean, forged))

    assert {"duplicate_of_unseen_event", "authorised_against_rules"} <= codes


def test_a_redelivered_event_marked_duplicate_passes() -> None:
    ledger = ny_borrower()
    key = B.encode()
    partition = partition_for(key, PARTITIONS)
    value = wrap(DisputeOpened(loan_id="L1"), borrower_id=B, occurred_at=NOON_NY, producer="t")
    for offset in (100, 101):  # the same event twice, as a redelivery brings it
        out = ledger.engine.process(
            Record(UPSTREAM, partition, offset, key, value.model_dump_json().encode())
        )
        ledger.entries += out.ledger
    marks = [json.loads(e.value)["duplicate"] for e in ledger.entries[-2:]]

    assert marks == [False, True]
    assert audit(ledger).report.ok, audit(ledger).report.findings
