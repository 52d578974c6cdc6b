"""Values compare by their fields, as pydantic compares models (``_Value.__eq__`` is a faster
form of the same rule, which the audit relies on to re-prove decisions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel

from contracts.decisions import Evidence, RuleOutcome, Window

AT = datetime(2026, 3, 4, 20, 30, tzinfo=UTC)


def _evidence(**changes: object) -> Evidence:
    fields: dict[str, object] = {
        "candidate_zones": ("America/New_York",),
        "window": Window(opens_at=AT, closes_at=AT + timedelta(hours=9)),
        "counts": {"RF-1": 2},
        "consent": "sms: granted",
        "holds": (),
        "jurisdictions": ("US",),
    }
    fields.update(changes)
    return Evidence.model_validate(fields)


def test_values_with_equal_fields_are_equal_as_pydantic_says() -> None:
    a, b = _evidence(), _evidence()

    assert a == b
    assert BaseModel.__eq__(a, b) is True
    assert RuleOutcome(rule_id="RF-1", effect="pass") == RuleOutcome(rule_id="RF-1", effect="pass")


def test_any_differing_field_makes_values_differ_as_pydantic_says() -> None:
    base = _evidence()
    changed = [
        _evidence(candidate_zones=("America/Chicago",)),
        _evidence(window=Window(opens_at=AT, closes_at=None)),
        _evidence(counts={"RF-1": 3}),
        _evidence(counts={"RF-1": 2, "MA-1": 0}),
        _evidence(consent=""),
        _evidence(holds=("dispute",)),
        _evidence(jurisdictions=("US", "US-MA")),
    ]

    for other in changed:
        assert base != other
        assert BaseModel.__eq__(base, other) is False


def test_the_same_instant_at_another_offset_is_equal_as_pydantic_says() -> None:
    """Model equality compares instants; the audit's exact comparison compares JSON for that."""
    east = AT.astimezone(timezone(timedelta(hours=8)))
    a = RuleOutcome(rule_id="RF-1", effect="defer", until=AT)
    b = RuleOutcome(rule_id="RF-1", effect="defer", until=east)

    assert a == b
    assert BaseModel.__eq__(a, b) is True


def test_values_of_different_classes_or_non_values_are_not_equal() -> None:
    window = Window(opens_at=None, closes_at=None)

    assert window != RuleOutcome(rule_id="RF-1", effect="pass")
    assert window != {"opens_at": None, "closes_at": None}
    assert window != None  # noqa: E711 - the comparison itself is under test


def test_equal_values_hash_alike() -> None:
    one = RuleOutcome(rule_id="RF-1", effect="pass", detail="x")
    two = RuleOutcome(rule_id="RF-1", effect="pass", detail="x")

    assert hash(one) == hash(two)
    assert len({one, two}) == 1
