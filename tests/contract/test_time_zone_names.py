"""A declared time zone is one the code can load: a name the strategy cannot resolve would fail
every later decision for that borrower, so it is refused at the door (P3), not deep inside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts import BorrowerProfiled
from contracts.values import INGEST, TimeZoneName
from events.serialization import Reason, Undecodable, decode

GOLDEN = Path(__file__).parent / "golden"
ZONES = TypeAdapter(TimeZoneName)


@pytest.mark.parametrize(
    "name", ["America/New_York", "Asia/Shanghai", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]
)
def test_an_iana_zone_is_accepted(name: str) -> None:
    assert ZONES.validate_python(name, context=INGEST) == name


@pytest.mark.parametrize(
    "name",
    [
        "America/NewYork",  # a typo
        "america/new_york",  # zone names are case-sensitive
        "Mars/Olympus_Mons",
        "America",  # a folder of zones, not a zone
        "zone.tab",  # a data file beside the zones
        "../etc/passwd",
        "/etc/localtime",
        "America/../America/New_York",
        "America/New_York/",
        "Europe\\London",
        "",
        "localtime",  # the host's own zone: not the same on every machine (P5)
        "posixrules",
        "posix/America/New_York",
        "right/UTC",
    ],
)
def test_a_name_zoneinfo_cannot_load_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        ZONES.validate_python(name, context=INGEST)


def test_what_the_ledger_already_holds_reads_back_whatever_its_zone() -> None:
    """Only records coming in are checked: a ledger written before the check (or under another
    tzdata) must still restore, or every instance would fail on it in turn."""
    assert ZONES.validate_python("America/NewYork") == "America/NewYork"


def test_a_profile_with_an_unknown_zone_is_dead_lettered_as_a_schema_violation() -> None:
    """The decode path names the field, not the value (P7), with a machine-readable reason."""
    raw = json.loads((GOLDEN / "borrower.profiled.v1.json").read_text())
    raw["payload"]["declared_time_zone"] = "America/NewYork"

    with pytest.raises(Undecodable) as err:
        decode(json.dumps(raw).encode(), raw["borrower_id"].encode())

    assert err.value.reason is Reason.SCHEMA_VIOLATION
    assert "declared_time_zone: value_error" in err.value.detail
    assert "NewYork" not in err.value.detail


def test_the_zone_check_leaves_the_published_json_schema_unchanged() -> None:
    """Integrators see a plain string; the check is semantic, not a pattern."""
    schema = BorrowerProfiled.model_json_schema()["properties"]["declared_time_zone"]

    assert schema["anyOf"][0] == {
        "description": "IANA zone name",
        "maxLength": 64,
        "minLength": 1,
        "type": "string",
    }
