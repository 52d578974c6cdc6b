"""Adapter discovery and the development file sinks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from contracts.outcomes import OutcomeKind
from contracts.tasks import SendLetter
from contracts.values import Address, Channel, Purpose
from services.channels import registry
from services.channels.adapters import (
    ConsoleAdapter,
    FailoverAdapter,
    FakeChannelAdapter,
    LetterSink,
    TwilioSms,
)
from services.channels.registry import AdapterSettings, available_adapters, build_adapter
from tests.unit.channels.channels_unit_support import PHONE, sms


def plugin_factory(_settings: AdapterSettings) -> FakeChannelAdapter:
    return FakeChannelAdapter(vendor="plugin")


async def test_builds_built_ins_and_failover_chains(tmp_path: Path) -> None:
    """A name gives that adapter; ``a>b`` gives a failover chain of them."""
    settings = AdapterSettings(console_dir=str(tmp_path), twilio_base_url="http://127.0.0.1:9")

    single = build_adapter("twilio-sms", settings)
    chain = build_adapter("twilio-sms>console-sms", settings)

    assert isinstance(single, TwilioSms)
    assert isinstance(chain, FailoverAdapter)
    assert chain.vendor == "twilio>console"
    await single.aclose()
    await chain.aclose()


def test_discovers_adapters_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed plugins under ``parley.channel_adapters`` are listed and built."""
    plugin = EntryPoint(
        name="acme-sms",
        value="tests.unit.channels.test_channels_registry_and_console:plugin_factory",
        group=registry.ENTRY_POINT_GROUP,
    )

    def fake_entry_points(*, group: str, name: str | None = None) -> list[EntryPoint]:
        assert group == registry.ENTRY_POINT_GROUP
        return [plugin] if name in (None, plugin.name) else []

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)

    assert "acme-sms" in available_adapters()
    assert build_adapter("acme-sms").vendor == "plugin"


def test_unknown_adapter_names_are_refused() -> None:
    """A typo fails loudly and lists what exists."""
    with pytest.raises(LookupError, match="console-sms"):
        build_adapter("twillio-sms")


async def test_console_adapter_writes_json_lines_without_the_raw_number(tmp_path: Path) -> None:
    """One line per attempt, recipient hashed, and a redelivered attempt is not written again
    even by a fresh instance (it reads the file back)."""
    path = tmp_path / "sms.jsonl"

    first = await ConsoleAdapter(channel=Channel.SMS, path=path).send(sms("att-c"))
    again = await ConsoleAdapter(channel=Channel.SMS, path=path).send(sms("att-c"))

    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["attempt_id"] == "att-c"
    assert PHONE not in lines[0]
    assert first.external_id == again.external_id == "att-c"
    assert again.detail == "duplicate attempt ignored"


async def test_letter_sink_writes_one_line_per_letter(tmp_path: Path) -> None:
    """Print letters are queued as JSON lines with name and postal address, once per attempt."""
    sink = LetterSink(tmp_path / "letters.jsonl")
    letter = SendLetter(
        attempt_id="att-l",
        party_id="party-1",
        loan_id="L1",
        purpose=Purpose.VALIDATION_NOTICE,
        authorised_at=datetime(2026, 3, 3, 15, tzinfo=UTC),
        not_after=datetime(2026, 3, 3, 15, 15, tzinfo=UTC),
        recipient="Ann Example",
        to=Address(country="US", region="NY", city="Albany", lines=("1 State St",)),
        subject="Information about your debt",
        body="Body",
    )

    first = await sink.send(letter)
    again = await sink.send(letter)
    wrong = await sink.send(sms())

    [line] = (tmp_path / "letters.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (record["channel"], record["recipient"]) == ("letter", "Ann Example")
    assert record["address"]["lines"] == ["1 State St"]
    assert (first.outcome, again.detail) == (OutcomeKind.ACCEPTED, "duplicate attempt ignored")
    assert wrong.outcome is OutcomeKind.FAILED
