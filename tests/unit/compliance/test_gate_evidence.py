"""P4/P5: every decision lists every rule evaluated with its source id, and is deterministic."""

from __future__ import annotations

from datetime import datetime

from contracts.decisions import Verdict
from tests.unit.compliance.gate_builders import ET, POLICY, attempt, decide


def test_same_input_gives_an_identical_result() -> None:
    """P5: replaying a decision with the same input and policy reproduces it exactly."""
    history = tuple(attempt(datetime(2026, 4, d, 10, tzinfo=ET)) for d in range(1, 8))
    at = datetime(2026, 4, 7, 22, 0, tzinfo=ET)

    assert decide(at, attempts=history) == decide(at, attempts=history)


def test_every_applicable_rule_is_reported_with_its_source_id() -> None:
    """P4: the rules evaluated for a US call include Reg F, TCPA and the baseline promises."""
    result = decide(datetime(2026, 4, 14, 12, 0, tzinfo=ET))
    ids = {o.rule_id for o in result.rules}

    assert result.verdict == Verdict.AUTHORISED
    assert {
        "P1-DEST",
        "P6-DISPUTE",
        "RF-1",
        "RF-2",
        "RF-6",
        "RF-7",
        "RF-10",
        "RF-11",
        "TC-1",
        "TC-2",
        "RF-17",
    } <= ids
    assert result.evidence.counts == {"RF-1": 0, "RF-2": 0}
    assert result.evidence.consent.startswith("call: granted")
    assert result.evidence.jurisdictions == ("US", "US-NY")


def test_deferring_rules_report_when_they_clear() -> None:
    """P4: a deferring rule carries its own clear instant."""
    result = decide(datetime(2026, 4, 14, 22, 0, tzinfo=ET))
    rf6 = next(o for o in result.rules if o.rule_id == "RF-6")

    assert rf6.effect == "defer"
    assert rf6.until == datetime(2026, 4, 15, 8, 0, tzinfo=ET)
    assert POLICY.version
