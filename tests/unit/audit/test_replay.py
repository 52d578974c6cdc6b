"""The audit fold over ledgers made in memory: what it re-derives, what it finds, and that
folding in shards finds exactly what one fold finds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events.records import Out
from services.audit.core.replay import Auditor
from services.orchestrator.core.decide import decide
from tests.unit.audit.ledgers import PARTITIONS, Ledger, audit, edited, portfolio


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return portfolio(borrowers=16, days=10)


def _first(ledger: Ledger, type_: str) -> int:
    return next(
        i
        for i, out in enumerate(ledger.entries)
        if any(d["type"] == type_ for d in _doc(out)["derived"])
    )


def _doc(out: Out) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out.value)
    return doc


def _findings(auditor: Auditor) -> set[tuple[str, str, str | None]]:
    return {(f.code, f.borrower_id, f.attempt_id) for f in auditor.report.findings}


def test_an_untouched_ledger_is_re_derived_entry_by_entry(ledger: Ledger) -> None:
    """P5: every entry re-derived, every decision accounted for, nothing found."""
    report = audit(ledger).report

    assert report.ok, report.findings[:3]
    assert report.entries_rederived == report.entries == len(ledger.entries)
    assert report.decisions_reproved > 0


def test_a_forged_verdict_is_found_and_re_proved_under_its_policy(ledger: Ledger) -> None:
    """A suppressed decision edited into an authorisation differs from the re-derivation, and
    the gate, run again on the decision alone, does not reproduce it."""
    i = _first(ledger, "contact.decided")

    def authorise(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "contact.decided":
                was = d["payload"]["verdict"]
                d["payload"]["verdict"] = "suppressed" if was == "authorised" else "authorised"
                d["payload"]["reasons"] = ["RF-1"]

    entries = [*ledger.entries[:i], edited(ledger.entries[i], authorise), *ledger.entries[i + 1 :]]
    codes = {f.code for f in audit(ledger, entries).report.findings}

    assert {"rederived_events_differ", "decision_not_reproduced"} <= codes


def test_an_older_schema_version_of_the_same_events_is_no_mismatch(ledger: Ledger) -> None:
    """The quick comparison (recorded JSON against the re-derived events' JSON) gives way to the
    full one on validated messages, which tolerates what validation normalises."""
    i = _first(ledger, "contact.decided")

    def older(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            d["schema_version"] = 0

    entries = [*ledger.entries[:i], edited(ledger.entries[i], older), *ledger.entries[i + 1 :]]
    report = audit(ledger, entries).report

    assert report.ok, report.findings[:3]
    assert report.entries_rederived == len(entries)


def test_folding_in_shards_finds_what_one_fold_finds(ledger: Ledger) -> None:
    """Partitions are independent: two auditors over halves of the partitions, merged, give the
    same counts, findings and authorisations as one auditor over all of them."""
    i = _first(ledger, "contact.decided")

    def forge(doc: dict[str, Any]) -> None:
        doc["derived"] = doc["derived"][:-1]

    entries = [*ledger.entries[:i], edited(ledger.entries[i], forge), *ledger.entries[i + 1 :]]
    whole = audit(ledger, entries)
    first = audit(ledger, [e for e in entries if e.partition % 2 == 0])
    second = audit(ledger, [e for e in entries if e.partition % 2 == 1])

    first.merge(second.part())

    merged, alone = first.report.as_dict(), whole.report.as_dict()
    assert {**merged, "findings": None} == {**alone, "findings": None}
    assert _findings(first) == _findings(whole) != set()
    assert first.seen.attempts.keys() == whole.seen.attempts.keys()


def test_an_entry_on_another_partition_is_a_finding(ledger: Ledger) -> None:
    """Folding in shards relies on co-partitioning, so the audit checks it."""
    out = ledger.entries[0]
    moved = Out(out.topic, (out.partition + 1) % PARTITIONS, out.key, out.value)

    codes = {f.code for f in audit(ledger, [moved, *ledger.entries[1:]]).report.findings}

    assert "entry_on_wrong_partition" in codes


def test_re_deriving_never_changes_the_state_folded_from_the_ledger(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a core that scribbled on the state it decides on could not corrupt the audit: it
    decides on a copy."""

    def scribbling(state: Any, *args: Any) -> Any:
        events = decide(state, *args)
        state.seen_events.add("scribbled")
        for loan in state.loans.values():
            loan.days_past_due += 1000
        return events

    monkeypatch.setattr("services.audit.core.replay.decide", scribbling)
    auditor = audit(ledger)

    assert auditor.report.ok, auditor.report.findings[:3]
    assert all("scribbled" not in s.seen_events for s in auditor.states.values())
    loans = [loan for s in auditor.states.values() for loan in s.loans.values()]
    assert all(loan.days_past_due < 1000 for loan in loans)


def test_an_unreadable_record_is_a_finding_not_a_crash(ledger: Ledger) -> None:
    auditor = audit(ledger, [])

    auditor.unreadable("b000001", "partition 0 offset 7", "derived.0.type: missing")

    assert [f.code for f in auditor.report.findings] == ["unreadable_entry"]
    assert auditor.report.entries == 1
