"""TC-5 "revoke-all" at dispatch: from 2027-01-31 a STOP to a text stops the calls to that
number too. The call's task names the channels whose revocation cancels it (``revoked_with``),
as the channel worker's re-check reads it; the audit reads which channels those are from the
decision under its recorded policy, not from the task, so a call sent after the STOP is found,
and a task that leaves the channel off is reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    ConsentRevoked,
    LoanOpened,
    RequestContact,
)
from contracts.values import Address, Channel, Phone, PhoneType
from events.records import Out
from tests.unit.audit.ledgers import MOBILE, OUTCOMES, B, Ledger, audit, edited, ny_borrower
from tests.unit.orchestrator.builders import stop, usd

BINDING = datetime(2027, 2, 2, 17, 0, tzinfo=UTC)  # Tuesday 12:00 EST, TC-5 in force
WAIVED = datetime(2027, 1, 20, 17, 0, tzinfo=UTC)  # Wednesday 12:00 EST, before 2027-01-31
MINUTE = timedelta(minutes=1)


def _derived(entry: Out, kind: str) -> list[dict[str, Any]]:
    return [d["payload"] for d in json.loads(entry.value)["derived"] if d["type"] == kind]


def _request_call(
    ledger: Ledger, at: datetime, request_id: str, channel: Channel = Channel.CALL
) -> dict[str, Any]:
    """A desk asks to call (or text) the borrower's mobile at ``at``: the decision."""
    ask = RequestContact(
        request_id=request_id,
        party_id=B,
        loan_id="L1",
        channel=channel,
        to=MOBILE,
        requested_by="desk",
    )
    ledger.send(B, ask, at)
    [decided] = _derived(ledger.entries[-1], "contact.decided")
    return decided


def _call_tasked(at: datetime) -> tuple[Ledger, dict[str, Any]]:
    """The Albany borrower, who may be texted and called at the mobile, called at ``at`` at a
    desk's request: the ledger, and the call's task."""
    ledger = ny_borrower(at)
    before = at - timedelta(days=1)
    grant = ConsentGranted(party_id=B, channel=Channel.CALL, address=MOBILE, received_at=before)
    ledger.send(B, grant, before)
    decided = _request_call(ledger, at, "r1")
    assert decided["verdict"] == "authorised", decided
    [task] = _derived(ledger.entries[-1], "task.call")
    assert task["attempt_id"] == decided["attempt_id"]
    return ledger, task


def _stop(ledger: Ledger, at: datetime, number: str = MOBILE) -> None:
    """A STOP in reply to a text, from ``number``, processed at ``at``: it revokes texts."""
    ledger.send(B, stop(number, "SM1", received_at=at), at, topic=OUTCOMES)
    assert [r["channel"] for r in _derived(ledger.entries[-1], "consent.revoked")] == ["sms"]


def test_the_call_task_names_texts_once_tc5_binds() -> None:
    _, task = _call_tasked(BINDING)

    assert task["revoked_with"] == ["sms"]


def test_a_call_sent_after_a_stop_to_a_text_is_a_violation() -> None:
    ledger, task = _call_tasked(BINDING)
    _stop(ledger, BINDING + MINUTE)
    auditor = audit(ledger)
    assert auditor.report.ok, auditor.report.findings

    auditor.dispatch(B, task["attempt_id"], BINDING + 2 * MINUTE, Channel.CALL, vendor="v")

    [f] = auditor.report.findings
    assert (f.code, f.kind, f.borrower_id, f.attempt_id) == (
        "dispatch_after_revocation",
        "violation",
        B,
        task["attempt_id"],
    )
    assert [(r.channel, r.dispatches_after) for r in auditor.report.revocations] == [
        (Channel.SMS, 1)
    ]


def test_a_call_sent_after_texts_were_allowed_again_is_still_a_violation() -> None:
    """Opting back into texts does not bring back the calls the STOP ended (TC-5): only a new
    grant to call would."""
    ledger, task = _call_tasked(BINDING)
    _stop(ledger, BINDING + MINUTE)
    texts = ConsentGranted(
        party_id=B, channel=Channel.SMS, address=MOBILE, received_at=BINDING + 2 * MINUTE
    )
    ledger.send(B, texts, BINDING + 2 * MINUTE)
    auditor = audit(ledger)

    auditor.dispatch(B, task["attempt_id"], BINDING + 3 * MINUTE, Channel.CALL, vendor="v")

    assert [f.code for f in auditor.report.findings] == ["dispatch_after_revocation"]


def test_a_call_sent_before_the_stop_is_not() -> None:
    ledger, task = _call_tasked(BINDING)
    _stop(ledger, BINDING + 5 * MINUTE)
    auditor = audit(ledger)

    auditor.dispatch(B, task["attempt_id"], BINDING + 2 * MINUTE, Channel.CALL, vendor="v")

    assert auditor.report.ok, auditor.report.findings
    assert [r.dispatches_after for r in auditor.report.revocations] == [0]


def test_the_ledger_with_the_stop_re_derives_as_written() -> None:
    """The engine's tasks are what the decision core makes again (the confirmation text of
    the STOP included)."""
    ledger, _ = _call_tasked(BINDING)
    _stop(ledger, BINDING + MINUTE)

    report = audit(ledger, rederive=True).report

    assert report.ok, report.findings


def test_a_call_task_that_leaves_texts_off_is_reported() -> None:
    """The worker cancels a call by its task's list: one written without sms would go after
    a STOP to a text."""
    ledger, task = _call_tasked(BINDING)

    def unmark(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            d["payload"].pop("revoked_with", None)

    entries = [
        edited(e, unmark) if _derived(e, "task.call") == [task] else e for e in ledger.entries
    ]
    assert sum(e is not o for e, o in zip(entries, ledger.entries, strict=True)) == 1

    findings = audit(ledger, entries).report.findings

    [f] = findings
    assert (f.code, f.kind, f.attempt_id) == (
        "task_differs_from_authorisation",
        "violation",
        task["attempt_id"],
    )
    assert f.detail == "revoked_with differ"


def test_a_call_task_that_names_texts_before_tc5_binds_is_reported() -> None:
    """The list is the decision's under its policy, either way: one it did not give differs."""
    ledger, task = _call_tasked(WAIVED)

    def mark(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "task.call":
                d["payload"]["revoked_with"] = ["sms"]

    entries = [edited(e, mark) if _derived(e, "task.call") == [task] else e for e in ledger.entries]

    findings = audit(ledger, entries).report.findings

    [f] = findings
    assert (f.code, f.detail) == ("task_differs_from_authorisation", "revoked_with differ")


def test_before_tc5_binds_a_call_after_a_stop_to_a_text_is_no_violation() -> None:
    """Waived until 2027-01-31: the task names no other channel, and a STOP to a text leaves
    the call that was authorised before it free to go."""
    ledger, task = _call_tasked(WAIVED)
    _stop(ledger, WAIVED + MINUTE)
    auditor = audit(ledger)

    auditor.dispatch(B, task["attempt_id"], WAIVED + 2 * MINUTE, Channel.CALL, vendor="v")

    assert "revoked_with" not in task
    assert auditor.report.ok, auditor.report.findings
    assert [r.dispatches_after for r in auditor.report.revocations] == [0]


def test_a_call_asked_for_after_a_stop_to_a_text_is_suppressed_once_tc5_binds() -> None:
    """The gate's side, which the audit re-proves: the STOP to a text refuses the next call
    to that number from the date, and only passes it, saying so, before (where the call is
    deferred by the spacing of calls instead)."""
    tc5: dict[datetime, tuple[str, list[str], dict[str, Any]]] = {}
    for at in (BINDING, WAIVED):
        ledger, _ = _call_tasked(at)
        _stop(ledger, at + MINUTE)
        decided = _request_call(ledger, at + 2 * MINUTE, "r2")
        [rule] = [o for o in decided["rules"] if o["rule_id"] == "TC-5"]
        tc5[at] = (decided["verdict"], decided["reasons"], rule)
        assert audit(ledger).report.ok, audit(ledger).report.findings

    verdict, reasons, rule = tc5[BINDING]
    assert (verdict, reasons, rule["effect"]) == ("suppressed", ["TC-5"], "suppress")
    verdict, reasons, rule = tc5[WAIVED]
    assert "TC-5" not in reasons
    assert (rule["effect"], rule["detail"]) == ("pass", "opted out by sms; binds from 2027-01-31")


def test_a_text_sent_after_stop_calling_is_a_violation() -> None:
    """And the other way: once the person asks not to be called at the number, a text to it
    waiting to go is stopped too; its task names calls, and the audit finds it sent."""
    ledger = ny_borrower(BINDING)
    _request_call(ledger, BINDING, "r1", Channel.SMS)
    [task] = _derived(ledger.entries[-1], "task.sms")
    revoked = BINDING + MINUTE
    stop_calling = ConsentRevoked(
        party_id=B, channel=Channel.CALL, address=MOBILE, received_at=revoked
    )
    ledger.send(B, stop_calling, revoked)
    auditor = audit(ledger)

    auditor.dispatch(B, task["attempt_id"], BINDING + 2 * MINUTE, Channel.SMS, vendor="v")

    assert task["revoked_with"] == ["call"]
    assert [f.code for f in auditor.report.findings] == ["dispatch_after_revocation"]
    assert [(r.channel, r.dispatches_after) for r in auditor.report.revocations] == [
        (Channel.CALL, 1)
    ]


HONOLULU = "+18085550100"


def test_a_call_still_waiting_when_tc5_begins_is_held_to_it() -> None:
    """Authorised at 18:55 in Honolulu on 2027-01-30, the call may go until 19:10; TC-5 begins
    at midnight in Washington, 19:00 there. The task names texts, the audit agrees, and a call
    sent after a STOP at 19:01 is a violation."""
    asked = datetime(2027, 1, 31, 4, 55, tzinfo=UTC)
    before = asked - timedelta(days=1)
    ledger = Ledger()
    profile = BorrowerProfiled(
        party_id=B,
        name="Ann",
        addresses=(Address(country="US", region="HI", city="Honolulu", postal_code="96813"),),
        phones=(Phone(number=HONOLULU, type=PhoneType.MOBILE),),
    )
    ledger.send(B, profile, before)
    for channel in (Channel.CALL, Channel.SMS):
        grant = ConsentGranted(party_id=B, channel=channel, address=HONOLULU, received_at=before)
        ledger.send(B, grant, before)
    loan = LoanOpened(
        loan_id="L1",
        product="p",
        principal=usd(500),
        third_party_collector=False,
    )
    ledger.send(B, loan, before)
    ask = RequestContact(
        request_id="r1",
        party_id=B,
        loan_id="L1",
        channel=Channel.CALL,
        to=HONOLULU,
        requested_by="desk",
    )
    ledger.send(B, ask, asked)
    [task] = _derived(ledger.entries[-1], "task.call")
    stopped = asked + 6 * MINUTE
    _stop(ledger, stopped, HONOLULU)
    auditor = audit(ledger)
    assert auditor.report.ok, auditor.report.findings

    auditor.dispatch(B, task["attempt_id"], stopped + 2 * MINUTE, Channel.CALL, vendor="v")

    assert task["revoked_with"] == ["sms"]
    assert [f.code for f in auditor.report.findings] == ["dispatch_after_revocation"]
