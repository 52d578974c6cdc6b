"""The bounds a dispatch is checked against come from the decision the gate proved: it starts no
earlier than the decision and no later than the close of the window the decision was proved in,
nor than its task's not_after where that is earlier. A task cannot widen them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.values import Channel
from events.records import Out
from services.audit.core.replay import Auditor
from tests.unit.audit.ledgers import NOON_NY, B, Ledger, audit, edited, ny_borrower
from tests.unit.audit.test_revocations import _authorised_text

MINUTE = timedelta(minutes=1)
NINE_PM_NY = datetime(2026, 7, 7, 1, 0, tzinfo=UTC)  # Monday 21:00 EDT: the window closes
THREE_AM_NY = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 03:00 EDT (RF-6)


def _codes(auditor: Auditor) -> list[tuple[str, str]]:
    return sorted((f.kind, f.code) for f in auditor.report.findings)


def _last_edited(ledger: Ledger, edit: Any) -> list[Out]:
    return [*ledger.entries[:-1], edited(ledger.entries[-1], edit)]


def _on_task(edit: Any) -> Any:
    def on(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"].startswith("task."):
                edit(d["payload"])

    return on


def _without_task(doc: dict[str, Any]) -> None:
    doc["derived"] = [d for d in doc["derived"] if not d["type"].startswith("task.")]


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_the_window_close_is_recorded_from_the_decision() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    [decided] = [
        d["payload"]
        for d in json.loads(ledger.entries[-1].value)["derived"]
        if d["type"] == "contact.decided"
    ]

    a = audit(ledger).seen.attempts[attempt]

    assert decided["evidence"]["window"]["closes_at"] == _z(NINE_PM_NY)
    assert a.closes_at == NINE_PM_NY
    assert a.tasked
    assert a.not_after == NOON_NY + 15 * MINUTE  # the task's dispatch grace, inside the window


def test_a_task_whose_not_after_outlives_the_window_is_a_mismatch_and_bounds_nothing() -> None:
    """A forged not_after two days on would let a text at 03:00 pass; the window still binds."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    later = _z(NOON_NY + timedelta(days=2))
    entries = _last_edited(ledger, _on_task(lambda p: p.update(not_after=later)))

    at_three = audit(ledger, entries)
    at_three.dispatch(B, attempt, THREE_AM_NY, Channel.SMS)
    in_window = audit(ledger, entries)
    in_window.dispatch(B, attempt, NINE_PM_NY - MINUTE, Channel.SMS)

    assert _codes(at_three) == [
        ("mismatch", "task_bounds_differ_from_decision"),
        ("violation", "dispatch_outside_authorisation"),
    ]
    assert _codes(in_window) == [("mismatch", "task_bounds_differ_from_decision")]


def test_a_task_authorised_at_another_instant_is_a_mismatch() -> None:
    ledger = ny_borrower()
    _authorised_text(ledger, NOON_NY)
    earlier = _z(NOON_NY - timedelta(hours=1))
    entries = _last_edited(ledger, _on_task(lambda p: p.update(authorised_at=earlier)))

    assert _codes(audit(ledger, entries)) == [("mismatch", "task_bounds_differ_from_decision")]


def test_a_task_that_ends_before_the_window_bounds_the_dispatch() -> None:
    """The dispatch grace (15 minutes) ends long before 21:00: a dispatch after it is outside."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + 30 * MINUTE, Channel.SMS)

    assert _codes(auditor) == [("violation", "dispatch_outside_authorisation")]


def test_a_dispatch_of_an_authorisation_without_a_task_is_bounded_by_its_window() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    entries = _last_edited(ledger, _without_task)

    at_three = audit(ledger, entries)
    at_three.dispatch(B, attempt, THREE_AM_NY + timedelta(days=2), Channel.SMS)
    in_window = audit(ledger, entries)
    in_window.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS)

    assert audit(ledger, entries).report.ok  # the ledger alone: nothing was sent
    assert _codes(at_three) == [
        ("mismatch", "dispatch_without_task"),
        ("violation", "dispatch_outside_authorisation"),
    ]
    # What was sent cannot be checked against what the gate proved, even inside the window.
    assert _codes(in_window) == [("mismatch", "dispatch_without_task")]
