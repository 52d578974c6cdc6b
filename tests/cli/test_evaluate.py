"""`parley evaluate`: offline, deterministic, the live code; bad input is one clear line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from events.envelope import derive_id
from tests.cli.test_cli_errors import parley

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evaluate"


def _verdicts(text: str) -> list[tuple[str, str, list[str], str | None]]:
    rows = [json.loads(line) for line in text.splitlines()]
    return [(r["request_id"], r["verdict"], r["reasons"], r["defer_until"]) for r in rows]


def test_the_documented_example_gives_the_documented_decisions() -> None:
    """20:59 allowed, 21:00 not (RF-6 until 08:00) and, the 20:59 call having no outcome yet,
    held to day 8 (RF-2), as after its conversation; day 8 across DST; STOP suppresses."""
    result = parley("evaluate", str(EXAMPLES / "events.jsonl"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == (EXAMPLES / "decisions.jsonl").read_text()
    assert _verdicts(result.stdout) == [
        ("desk-1", "authorised", [], None),
        ("desk-2", "deferred", ["RF-2", "RF-6"], "2026-03-09T12:00:00Z"),
        ("desk-3", "deferred", ["RF-2"], "2026-03-09T12:00:00Z"),
        ("desk-4", "authorised", [], None),
        ("desk-5", "suppressed", ["P6-OPT-OUT", "RF-16", "TC-1", "TC-2"], None),
    ]
    desk_2 = json.loads(result.stdout.splitlines()[1])
    rf_6 = next(rule for rule in desk_2["rules"] if rule["rule_id"] == "RF-6")
    assert rf_6["until"] == "2026-03-03T13:00:00Z"  # 08:00 the next morning


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


def _events(tmp_path: Path, lines: list[str]) -> Path:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return events


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(err) == 1, result.stderr
    return err[0]


def test_a_file_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    """A Latin-1 name on line 2 is one clear line, not a UnicodeDecodeError traceback."""
    lines = (EXAMPLES / "events.jsonl").read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"name": "Ann"', b'"name": "Ren\xe9e"')
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")

    error = _one_error(parley("evaluate", str(events)))

    assert f"{events}:2: not UTF-8 text (byte 0xe9)" in error


@pytest.mark.parametrize(
    ("line", "why"),
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"), ('{"n": ' + "9" * 5000 + "}", "digits")],
)
def test_json_no_parser_takes_is_one_line_naming_file_and_line(
    tmp_path: Path, line: str, why: str
) -> None:
    """Nesting deeper than the parser goes, or an integer too long to convert, is not JSON this
    tool can read: one line, not a RecursionError or ValueError traceback."""
    lines = (EXAMPLES / "events.jsonl").read_text().splitlines()
    events = _events(tmp_path, [*lines[:2], line, *lines[2:]])

    error = _one_error(parley("evaluate", str(events)))

    assert f"{events}:3: not JSON" in error
    assert why in error


def test_a_line_earlier_than_a_previous_one_is_refused(tmp_path: Path) -> None:
    """Out of time order, desk-2 would be decided at desk-3's later clock; it is an error."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    desk2, desk3 = lines[7], lines[10]
    events = _events(tmp_path, [*lines[:7], desk3, desk2])

    error = _one_error(parley("evaluate", str(events)))

    assert error.endswith(
        f"{events}:9: occurred_at: 2026-03-03T02:00:00+00:00 is before line 8's"
        " 2026-03-04T17:00:00+00:00; lines must be in time order,"
        " as the orchestrator's clock never goes back"
    )


def test_another_borrowers_later_line_also_sets_the_clock(tmp_path: Path) -> None:
    """Offline every borrower shares one clock (one partition), so order is file-wide."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    other = (
        lines[1].replace("b-ann", "b-bob").replace("2026-03-02T15:00:00Z", "2026-03-05T00:00:00Z")
    )
    events = _events(tmp_path, [*lines[:5], other, lines[6]])

    error = _one_error(parley("evaluate", str(events)))

    assert f"{events}:7: occurred_at: " in error
    assert "before line 6's 2026-03-05T00:00:00+00:00" in error


def test_a_requests_at_field_does_not_move_the_decision(tmp_path: Path) -> None:
    """As live, a request is decided at the clock (its occurred_at); payload ``at`` is not read."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    desk1 = lines[6].replace('"requested_by"', '"at": "2026-03-03T14:00:00Z", "requested_by"')
    events = _events(tmp_path, [*lines[:6], desk1])

    result = parley("evaluate", str(events))

    assert result.returncode == 0, result.stderr
    (decision,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert decision["decided_at"] == "2026-03-03T01:59:00Z"
    assert decision["verdict"] == "authorised"


def test_a_call_the_vendor_took_holds_the_next_until_its_disposition(tmp_path: Path) -> None:
    """RF-2 end to end: the channel worker records "accepted" as soon as the voice vendor takes
    a call, while the phone still rings; how the call went comes later by callback, or never. So
    a call on the next day waits for day 8, as after a conversation (P1). Once the disposition
    says no one answered it replaces "accepted" (a late "accepted" does not undo it) and a call
    is allowed."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    facts = lines[1:5]  # Ann in Albany: profile, consents, the loan
    assert all('"b-ann"' in line for line in facts)
    first = derive_id("b-ann", "request", "desk-1")

    def request(desk: str, at: str) -> str:
        payload = {
            "request_id": desk,
            "party_id": "b-ann",
            "loan_id": "L-ann",
            "channel": "call",
            "to": "+15185550147",
            "requested_by": "agent-7",
        }
        return json.dumps(
            {
                "type": "contact.request",
                "borrower_id": "b-ann",
                "occurred_at": at,
                "payload": payload,
            }
        )

    def outcome(kind: str, at: str) -> str:
        payload = {"attempt_id": first, "channel": "call", "outcome": kind, "reported_at": at}
        return json.dumps(
            {
                "type": "contact.outcome",
                "borrower_id": "b-ann",
                "occurred_at": at,
                "payload": payload,
            }
        )

    events = _events(
        tmp_path,
        [
            *facts,
            request("desk-1", "2026-03-03T15:00:00Z"),  # Tuesday 10:00 EST, day 1
            outcome("accepted", "2026-03-03T15:00:02Z"),
            request("desk-2", "2026-03-04T15:00:00Z"),
            outcome("no_answer", "2026-03-04T15:01:00Z"),
            outcome("accepted", "2026-03-04T15:02:00Z"),  # late and out of order
            request("desk-3", "2026-03-04T15:05:00Z"),
        ],
    )

    result = parley("evaluate", str(events))

    assert result.returncode == 0, result.stderr
    assert _verdicts(result.stdout) == [
        ("desk-1", "authorised", [], None),
        ("desk-2", "deferred", ["RF-2"], "2026-03-10T12:00:00Z"),  # day 8, 08:00 EDT
        ("desk-3", "authorised", [], None),
    ]


def test_a_request_with_nothing_approved_to_send_is_answered_declined(tmp_path: Path) -> None:
    """Every request gets a line: one the strategy has no text for (a cease acknowledgement by
    call, RF-11) is declined with its reason, not sent with another purpose's text."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    payload = {
        "request_id": "desk-9",
        "party_id": "b-ann",
        "loan_id": "L-ann",
        "channel": "call",
        "to": "+15185550147",
        "purpose": "cease_acknowledgement",
        "requested_by": "agent-7",
    }
    ask = {
        "type": "contact.request",
        "borrower_id": "b-ann",
        "occurred_at": "2026-03-03T15:00:00Z",
        "payload": payload,
    }
    events = _events(tmp_path, [*lines[1:5], json.dumps(ask)])

    result = parley("evaluate", str(events))

    assert result.returncode == 0, result.stderr
    (answer,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert answer == {
        "line": 5,
        "request_id": "desk-9",
        "attempt_id": derive_id("b-ann", "request", "desk-9"),
        "verdict": "declined",
        "reasons": ["no_template_for_request"],
        "origin": "request",
    }


def test_a_request_about_a_loan_not_on_file_is_answered_declined(tmp_path: Path) -> None:
    """A typo'd loan id still gets its line (unknown_party_or_loan), not silence and exit 0."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace('"loan_id": "L-ann"', '"loan_id": "L-an"')
    events = _events(tmp_path, lines)

    result = parley("evaluate", str(events))

    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 5
    assert (answers[0]["request_id"], answers[0]["verdict"], answers[0]["reasons"]) == (
        "desk-1",
        "declined",
        ["unknown_party_or_loan"],
    )


def test_a_repeated_request_id_is_one_error_line(tmp_path: Path) -> None:
    """A request_id seen before is a redelivery, which the live engine does not answer again:
    offline that would be a request without an answer, so it is refused where it is."""
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    lines[7] = lines[7].replace('"request_id": "desk-2"', '"request_id": "desk-1"')
    events = _events(tmp_path, lines)

    error = _one_error(parley("evaluate", str(events)))

    assert f"{events}:8: request_id: 'desk-1' repeats an earlier request's" in error
