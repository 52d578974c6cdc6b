"""The published language: JSON Schemas in the repo match the code, golden messages of every
schema version still parse, and old versions are upcast or dead-lettered, never guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import MESSAGE_TYPES, BorrowerProfiled
from events.serialization import Reason, Undecodable, decode
from services.cli.schemas import SCHEMA_DIR, all_schemas, render

GOLDEN = Path(__file__).parent / "golden"


def test_exported_schemas_are_up_to_date() -> None:
    """A contract change without `parley schemas export` fails here, not at an integrator's."""
    wanted = all_schemas()

    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}

    assert sorted(on_disk) == sorted(wanted), "run: parley schemas export"
    stale = [name for name, schema in wanted.items() if on_disk[name] != render(schema)]
    assert stale == [], f"stale schemas {stale}; run: parley schemas export"


def test_every_message_type_has_a_golden_example() -> None:
    """Each type and version the code knows is pinned by at least one golden record."""
    golden = {json.loads(p.read_text())["type"] for p in GOLDEN.glob("*.json")}

    assert set(MESSAGE_TYPES) - golden == set()


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_records_still_decode(path: Path) -> None:
    """A record written by an earlier build is still read (directly or through an upcaster)."""
    raw = json.loads(path.read_text())

    decoded = decode(path.read_bytes(), raw["borrower_id"].encode())

    assert decoded.envelope.type == raw["type"]
    assert decoded.envelope.schema_version == MESSAGE_TYPES[raw["type"]].VERSION


def test_a_version_zero_profile_is_upcast_to_the_current_version() -> None:
    """Upcasting, not editing: v0's single phone string becomes v1's phone list."""
    raw = json.loads((GOLDEN / "borrower.profiled.v0.json").read_text())

    decoded = decode(json.dumps(raw).encode(), raw["borrower_id"].encode())

    assert isinstance(decoded.message, BorrowerProfiled)
    assert [p.number for p in decoded.message.phones] == [raw["payload"]["phone"]]


def test_a_version_from_the_future_is_dead_lettered_not_guessed() -> None:
    """A producer ahead of this build: unknown_schema_version, with nothing half-applied."""
    raw = json.loads((GOLDEN / "borrower.profiled.v1.json").read_text())
    raw["schema_version"] = 7

    with pytest.raises(Undecodable) as err:
        decode(json.dumps(raw).encode(), raw["borrower_id"].encode())

    assert err.value.reason is Reason.UNKNOWN_SCHEMA_VERSION
