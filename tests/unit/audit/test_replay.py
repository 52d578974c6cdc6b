"""The audit fold over ledgers made in memory: what it re-derives, what it finds, and that
folding in shards finds exactly what one fold finds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from events.records import Out
from services.audit.core.replay import Auditor
from services.orchestrator.core.decide import CORE_REVISION, decide
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


def _flip_first_verdict(doc: dict[str, Any]) -> None:
    for d in doc["derived"]:
        if d["type"] == "contact.decided":
            was = d["payload"]["verdict"]
            d["payload"]["verdict"] = "suppressed" if was == "authorised" else "authorised"
            d["payload"]["reasons"] = ["RF-1"]
            return


def _with(ledger: Ledger, i: int, edit: Any) -> list[Out]:
    return [*ledger.entries[:i], edited(ledger.entries[i], edit), *ledger.entries[i + 1 :]]


def test_an_untouched_ledger_has_every_decision_re_proved(ledger: Ledger) -> None:
    """P4: by default every recorded decision is re-proved by the gate; the core is not re-run."""
    report = audit(ledger).report

    assert report.ok, report.findings[:3]
    assert report.entries == len(ledger.entries)
    assert report.entries_rederived == 0
    assert report.decisions_reproved == sum(
        d["type"] == "contact.decided" for out in ledger.entries for d in _doc(out)["derived"]
    )
    assert not report.rederive


def test_an_untouched_ledger_is_re_derived_entry_by_entry(ledger: Ledger) -> None:
    """P5, with --rederive: every entry re-derived by the whole core, nothing found."""
    report = audit(ledger, rederive=True).report

    assert report.ok, report.findings[:3]
    assert report.entries_rederived == report.entries == len(ledger.entries)
    assert report.decisions_reproved > 0
    assert report.rederive


def test_a_forged_verdict_is_not_reproduced_by_the_gate(ledger: Ledger) -> None:
    """A decision edited to the other verdict is run through the gate again, under its policy
    version, which does not reproduce it."""
    entries = _with(ledger, _first(ledger, "contact.decided"), _flip_first_verdict)

    codes = {f.code for f in audit(ledger, entries).report.findings}

    assert "decision_not_reproduced" in codes


def test_a_forged_authorisation_is_a_violation(ledger: Ledger) -> None:
    """A suppression edited into an authorisation is not only a mismatch: the gate says the
    attempt broke the rules it names."""
    i = next(
        i
        for i, out in enumerate(ledger.entries)
        if any(
            d["type"] == "contact.decided" and d["payload"]["verdict"] == "suppressed"
            for d in _doc(out)["derived"]
        )
    )

    def authorise(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "contact.decided" and d["payload"]["verdict"] == "suppressed":
                d["payload"]["verdict"] = "authorised"
                d["payload"]["reasons"] = []
                return

    findings = audit(ledger, _with(ledger, i, authorise)).report.findings

    assert {"decision_not_reproduced", "authorised_against_rules"} <= {f.code for f in findings}
    [violation] = [f for f in findings if f.code == "authorised_against_rules"]
    assert violation.kind == "violation"
    assert violation.detail


def test_rederiving_also_finds_the_forged_verdict_as_a_different_derivation(
    ledger: Ledger,
) -> None:
    """With --rederive the core, run again, derives something other than what was recorded."""
    entries = _with(ledger, _first(ledger, "contact.decided"), _flip_first_verdict)

    codes = {f.code for f in audit(ledger, entries, rederive=True).report.findings}

    assert {"rederived_events_differ", "decision_not_reproduced"} <= codes


def test_only_rederiving_finds_a_removed_event_that_is_not_a_decision(ledger: Ledger) -> None:
    """What the two depths differ in: a timer the strategy scheduled, cut from the log, leaves
    every decision as the gate would make it, so only running the whole core again finds it."""
    i = _first(ledger, "timer.scheduled")

    def cut(doc: dict[str, Any]) -> None:
        doc["derived"] = [d for d in doc["derived"] if d["type"] != "timer.scheduled"]

    entries = _with(ledger, i, cut)

    assert audit(ledger, entries).report.ok
    codes = {f.code for f in audit(ledger, entries, rederive=True).report.findings}
    assert "rederived_events_differ" in codes


@pytest.mark.parametrize("rederive", [False, True])
def test_an_older_schema_version_of_the_same_events_is_no_mismatch(
    ledger: Ledger, rederive: bool
) -> None:
    """An entry whose envelopes do not decode in the quick, typed pass is decoded the general
    way; re-derived, the comparison on both messages' JSON forms tolerates what validation
    normalises."""
    i = _first(ledger, "contact.decided")

    def older(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            d["schema_version"] = 0

    report = audit(ledger, _with(ledger, i, older), rederive=rederive).report

    assert report.ok, report.findings[:3]
    assert report.entries_rederived == (len(ledger.entries) if rederive else 0)


def test_an_event_of_a_type_this_build_does_not_know_is_unverifiable_not_a_crash(
    ledger: Ledger,
) -> None:
    i = _first(ledger, "contact.decided")

    def unknown(doc: dict[str, Any]) -> None:
        doc["derived"][0]["type"] = "contact.teleported"

    findings = audit(ledger, _with(ledger, i, unknown)).report.findings

    assert [(f.kind, f.code) for f in findings][:1] == [("unverifiable", "unreadable_event")]
    assert "contact.teleported" in findings[0].detail


def test_folding_in_shards_finds_what_one_fold_finds(ledger: Ledger) -> None:
    """Partitions are independent: two auditors over halves of the partitions, merged, give the
    same counts, findings and authorisations as one auditor over all of them."""
    i = _first(ledger, "contact.decided")

    def forge(doc: dict[str, Any]) -> None:
        doc["derived"] = doc["derived"][:-1]

    entries = [*ledger.entries[:i], edited(ledger.entries[i], forge), *ledger.entries[i + 1 :]]
    whole = audit(ledger, entries, rederive=True)
    first = audit(ledger, [e for e in entries if e.partition % 2 == 0], rederive=True)
    second = audit(ledger, [e for e in entries if e.partition % 2 == 1], rederive=True)

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
    auditor = audit(ledger, rederive=True)

    assert auditor.report.ok, auditor.report.findings[:3]
    assert all("scribbled" not in s.seen_events for s in auditor.states.values())
    loans = [loan for s in auditor.states.values() for loan in s.loans.values()]
    assert all(loan.days_past_due < 1000 for loan in loans)


def test_an_unreadable_record_is_a_finding_not_a_crash(ledger: Ledger) -> None:
    auditor = audit(ledger, [])

    auditor.unreadable("b000001", "partition 0 offset 7", "derived.0.type: missing")

    assert [f.code for f in auditor.report.findings] == ["unreadable_entry"]
    assert auditor.report.entries == 1


def _decision(doc: dict[str, Any]) -> dict[str, Any]:
    return next(d["payload"] for d in doc["derived"] if d["type"] == "contact.decided")


def test_a_decision_moved_to_another_clock_is_a_mismatch(ledger: Ledger) -> None:
    """The gate is re-run at the entry's clock, not at whatever the decision says: a decision
    moved three hours earlier (into a quiet hour, say) is found at the default depth."""
    i = _first(ledger, "contact.decided")

    def earlier(doc: dict[str, Any]) -> None:
        d = _decision(doc)
        d["decided_at"] = (datetime.fromisoformat(d["decided_at"]) - timedelta(hours=3)).isoformat()

    findings = audit(ledger, _with(ledger, i, earlier)).report.findings

    assert "decision_clock_or_policy_differs" in {f.code for f in findings}


def test_a_decision_naming_another_policy_is_a_mismatch(ledger: Ledger) -> None:
    i = _first(ledger, "contact.decided")

    def other_policy(doc: dict[str, Any]) -> None:
        _decision(doc)["policy_version"] = "an-older-looser-policy"

    findings = audit(ledger, _with(ledger, i, other_policy)).report.findings

    assert "decision_clock_or_policy_differs" in {f.code for f in findings}


def test_a_fact_added_among_the_derived_events_is_not_folded_silently(ledger: Ledger) -> None:
    """A consent grant is an upstream fact; among an entry's derived events it was not derived
    by Parley, and folding it would let later decisions rest on it."""
    i = _first(ledger, "contact.decided")
    grant = {
        "party_id": _doc(ledger.entries[i])["borrower_id"],
        "channel": "sms",
        "received_at": _doc(ledger.entries[i])["now"],
    }

    def add_grant(doc: dict[str, Any]) -> None:
        envelope = dict(doc["derived"][0])
        envelope.update(type="consent.granted", event_id="forged-grant-1", payload=grant)
        doc["derived"].append(envelope)

    findings = audit(ledger, _with(ledger, i, add_grant)).report.findings

    assert "underivable_event" in {f.code for f in findings}


def test_rederiving_compares_the_recorded_text_not_only_the_instant(ledger: Ledger) -> None:
    """The same instant written with another offset is equal as a datetime but not as recorded:
    the re-derivation compares the JSON forms, field for field."""
    i = _first(ledger, "contact.decided")

    def shanghai(doc: dict[str, Any]) -> None:
        d = _decision(doc)
        d["decided_at"] = (
            datetime.fromisoformat(d["decided_at"]).astimezone(timezone(timedelta(hours=8)))
        ).isoformat()

    entries = _with(ledger, i, shanghai)

    assert audit(ledger, entries).report.ok  # the same instant: the gate's answer is the same
    codes = {f.code for f in audit(ledger, entries, rederive=True).report.findings}
    assert "rederived_events_differ" in codes


def test_entries_of_an_earlier_core_revision_are_re_proved_not_re_derived(ledger: Ledger) -> None:
    """The recorded strategy version names the decision core's revision: a log written by a core
    that derived differently (here, one that scheduled no timer where the current core does) is
    re-proved decision by decision under --rederive, not reported as a mismatch (P5 holds for
    the same code); the current revision's entries are re-derived."""
    cut = _first(ledger, "timer.scheduled")
    current = _doc(ledger.entries[cut])["strategy_version"]
    assert current.endswith(f".r{CORE_REVISION}")
    earlier = current.removesuffix(f".r{CORE_REVISION}")

    def by_an_earlier_core(out: Out, index: int) -> Out:
        def edit(doc: dict[str, Any]) -> None:
            doc["strategy_version"] = earlier
            if index == cut:
                doc["derived"] = [d for d in doc["derived"] if d["type"] != "timer.scheduled"]

        return edited(out, edit)

    entries = [by_an_earlier_core(out, i) for i, out in enumerate(ledger.entries)]
    report = audit(ledger, entries, rederive=True).report

    assert report.ok, report.findings[:3]
    assert report.entries_rederived == 0
    assert report.decisions_reproved > 0
