"""The audit reads a ledger entry once, envelopes and all; and it builds contexts as the
orchestrator does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import MESSAGE_TYPES, Message
from contracts.ledger import LedgerEntry
from events.envelope import Envelope
from services.audit.core.entry import RecordedEntry, first_errors, message_of, read_entry
from services.orchestrator.app import build_engine
from services.orchestrator.context import context_factory
from tests.unit.audit.ledgers import SETTINGS, portfolio


def test_a_recorded_entry_has_exactly_the_fields_of_a_ledger_entry() -> None:
    assert set(RecordedEntry.model_fields) == set(LedgerEntry.model_fields)
    for name, f in RecordedEntry.model_fields.items():
        assert f.is_required() == LedgerEntry.model_fields[name].is_required(), name


def _read_twice(envelope: dict[str, Any]) -> tuple[dict[str, Any], Message]:
    env = Envelope.model_validate(envelope)
    return env.model_dump(exclude={"payload"}), MESSAGE_TYPES[env.type].model_validate(env.payload)


def _read_once(envelope: Envelope) -> tuple[dict[str, Any], Message]:
    return envelope.model_dump(exclude={"payload"}), message_of(envelope)


def test_reading_an_entry_once_gives_what_reading_it_twice_gave() -> None:
    """The entry as ``LedgerEntry``, each envelope validated again and each payload into its
    message: the same values, read in one pass, every envelope of the quick, typed kind."""
    for out in portfolio(borrowers=6, days=6).entries:
        once = read_entry(out.value)
        twice = LedgerEntry.model_validate_json(out.value)

        assert once.model_dump(exclude={"event", "derived"}) == twice.model_dump(
            exclude={"event", "derived"}
        )
        assert (_read_once(once.event) if once.event else None) == (
            _read_twice(twice.event) if twice.event else None
        )
        assert [_read_once(e) for e in once.derived] == [_read_twice(d) for d in twice.derived]
        assert all(isinstance(e.payload, Message) for e in once.derived)


def test_an_entry_the_quick_pass_cannot_read_is_read_the_general_way() -> None:
    """An older schema version has no typed envelope: its payload stays a dict until asked for."""
    out = portfolio(borrowers=2, days=3).entries[-1]
    doc = json.loads(out.value)
    assert doc["event"] is not None
    doc["event"]["schema_version"] = 0

    entry = read_entry(json.dumps(doc))

    assert entry.event is not None
    assert isinstance(entry.event.payload, dict)
    assert doc["event"]["type"] == message_of(entry.event).TYPE


def test_an_invalid_entry_gives_the_general_decodings_error() -> None:
    out = portfolio(borrowers=2, days=3).entries[-1]
    doc = json.loads(out.value)
    del doc["policy_version"]

    with pytest.raises(ValidationError) as caught:
        read_entry(json.dumps(doc))

    assert first_errors(caught.value) == "policy_version: missing"


def test_the_audit_decides_in_the_orchestrators_context() -> None:
    engine = build_engine(SETTINGS)

    context_for, strategy_version = context_factory(SETTINGS)

    assert strategy_version == engine.strategy_version
    assert context_for(engine.ctx.policy) == engine.ctx
