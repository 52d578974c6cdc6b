"""`parley evaluate`: offline, deterministic, the live code; bad input is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_errors import parley

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evaluate"


def _verdicts(text: str) -> list[tuple[str, str, list[str], str | None]]:
    rows = [json.loads(line) for line in text.splitlines()]
    return [(r["request_id"], r["verdict"], r["reasons"], r["defer_until"]) for r in rows]


def test_the_documented_example_gives_the_documented_decisions() -> None:
    """20:59 allowed, 21:00 deferred to 08:00, RF-2's day 8 across DST, STOP suppresses."""
    result = parley("evaluate", str(EXAMPLES / "events.jsonl"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == (EXAMPLES / "decisions.jsonl").read_text()
    assert _verdicts(result.stdout) == [
        ("desk-1", "authorised", [], None),
        ("desk-2", "deferred", ["RF-6"], "2026-03-03T13:00:00Z"),
        ("desk-3", "deferred", ["RF-2"], "2026-03-09T12:00:00Z"),
        ("desk-4", "authorised", [], None),
        ("desk-5", "suppressed", ["P6-OPT-OUT", "RF-16", "TC-1", "TC-2"], None),
    ]


def test_a_bad_line_names_the_file_line_and_field(tmp_path: Path) -> None:
    """A typo in a request's channel is reported where it is, in one line."""
    lines = (EXAMPLES / "events.jsonl").read_text().splitlines()
    lines[6] = lines[6].replace('"channel": "call"', '"channel": "carrier-pigeon"')
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")

    result = parley("evaluate", str(events))

    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2
    assert len(err) == 1
    assert f"{events}:7: schema_violation" in err[0]
    assert "channel" in err[0]


def test_an_unknown_policy_is_one_line() -> None:
    """Naming a policy that does not exist."""
    result = parley("evaluate", str(EXAMPLES / "events.jsonl"), "--policy", "atlantis")

    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2
    assert len(err) == 1
    assert "atlantis" in err[0]
