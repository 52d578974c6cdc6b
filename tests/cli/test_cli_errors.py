"""A bad argument, setting or policy file gets one clear line on stderr and a non-zero exit,
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def parley(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "KAFKA_"))}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (("demo", "--borrowers", "many"), {}, "Invalid value for '--borrowers'"),
        (("demo", "--days", "0"), {}, "--days"),
        (("nosuch",), {}, "No such command"),
        (("run", "--service", "billing"), {}, "unknown service 'billing'"),
        (("demo",), {"PARLEY_PARTITIONS": "0"}, "invalid setting partitions"),
        (("demo",), {"PARLEY_CLOCK": "sundial"}, "invalid setting clock"),
        (("demo",), {"PARLEY_MAX_RECORD_BYTES": "1000000"}, "invalid setting max_record_bytes"),
        (("topics", "create"), {}, "KAFKA_BOOTSTRAP_SERVERS is not set"),
        # Nothing listens on port 1: the broker cannot be reached.
        (("topics", "create"), {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "Unable to bootstrap"),
        (("audit",), {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "Unable to bootstrap"),
        (("run", "-s", "orchestrator"), {"PARLEY_MAX_CLOCK_SKEW_S": "inf"}, "max_clock_skew_s"),
        (("run", "-s", "channels"), {"PARLEY_TASK_LIFETIME_S": "1e300"}, "task_lifetime_s"),
        (("run", "-s", "channels"), {"PARLEY_SMTP_PORT": "70000"}, "smtp_port"),
        (
            ("run", "-s", "channels"),
            {"PARLEY_SMS_ADAPTER": "twilio-smss"},
            "invalid setting sms_adapter: Value error, unknown adapter 'twilio-smss'",
        ),
        (
            ("run", "-s", "channels"),
            {"PARLEY_SMTP_USERNAME": "parley"},
            "invalid setting smtp_password",
        ),
        (
            ("run", "-s", "channels"),
            {"PARLEY_ADAPTER_OPTIONS": "{not json"},
            'invalid setting: error parsing value for field "adapter_options"',
        ),
        # Known, but for another channel: found when the adapters are built, still one line.
        (("run", "-s", "channels"), {"PARLEY_SMS_ADAPTER": "smtp"}, "serves email, not sms"),
        (
            ("audit", "--namespace", "BAD NS"),
            {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
            "invalid setting namespace",
        ),
        (("audit", "--html", "/"), {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "is a directory"),
        (
            ("evaluate", "examples/evaluate/events.jsonl", "--out", "/no-such-dir/decisions.jsonl"),
            {},
            "/no-such-dir/decisions.jsonl: no such directory",
        ),
        (("evaluate", "/"), {}, "is a directory"),
        # A typo'd variable is not ignored in favour of the default it meant to replace.
        (("demo",), {"PARLEY_POLCY": "strict.yaml"}, "unknown setting PARLEY_POLCY"),
    ],
)
def test_user_errors_are_one_line(args: tuple[str, ...], env: dict[str, str], needle: str) -> None:
    """Each mistake names itself in one line."""
    result = parley(*args, env=env)

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("parley: error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.broker
def test_a_policy_file_with_a_typo_is_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    """The services refuse to start on a bad policy, and say exactly where it is wrong."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: mine\npacks: [us-federal]\nsomething_else: 1\n")

    result = parley(
        "run",
        "--service",
        "orchestrator",
        env={"PARLEY_POLICY": str(policy), "PARLEY_LOG_LEVEL": "error"},
    )

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert "policy.yaml:3" in lines[0]
    assert "something_else" in lines[0]


@pytest.mark.broker
def test_auditing_a_namespace_with_no_ledger_is_an_error_not_a_clean_audit(bootstrap: str) -> None:
    """A typo'd namespace has nothing to audit: that must not read as "0 entries, result OK"."""
    result = parley("audit", "--namespace", "typo", env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert "no topic typo.ledger" in lines[0]


def test_a_group_named_without_a_command_shows_its_help_as_written() -> None:
    """`parley topics` alone: the group's help, line by line, not squeezed into one error."""
    result = parley("topics")

    assert result.returncode == 2
    assert "parley: error" not in result.stderr
    assert "\nCommands:\n" in result.stderr
    assert "  create " in result.stderr


def test_an_events_line_without_a_borrower_says_so(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n", encoding="utf-8")

    result = parley("evaluate", str(events))

    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"parley: error: {events}:1: borrower_id: missing; every line names its borrower"
    )


def test_a_service_named_twice_runs_once() -> None:
    """`run -s orchestrator -s orchestrator` would start two orchestrators in one process."""
    from services.cli.main import chosen_services

    known = ("orchestrator", "channels", "gateway")

    assert chosen_services(["orchestrator", "orchestrator"], known) == ("orchestrator",)
    assert chosen_services(["gateway", "orchestrator"], known) == ("gateway", "orchestrator")
    assert chosen_services(None, known) == known
