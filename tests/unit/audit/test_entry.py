"""The audit reads a ledger entry once, envelopes and all; and it builds contexts as the
orchestrator does."""

from __future__ import annotations

from contracts.ledger import LedgerEntry
from events.envelope import Envelope
from services.audit.core.entry import RecordedEntry, read_entry
from services.orchestrator.app import build_engine
from services.orchestrator.context import context_factory
from tests.unit.audit.ledgers import SETTINGS, portfolio


def test_a_recorded_entry_has_exactly_the_fields_of_a_ledger_entry() -> None:
    assert set(RecordedEntry.model_fields) == set(LedgerEntry.model_fields)
    for name, f in RecordedEntry.model_fields.items():
        assert f.is_required() == LedgerEntry.model_fields[name].is_required(), name


def test_reading_an_entry_once_gives_what_reading_it_twice_gave() -> None:
    """The entry as ``LedgerEntry`` and each envelope validated again: the same values."""
    for out in portfolio(borrowers=6, days=6).entries:
        once = read_entry(out.value)
        twice = LedgerEntry.model_validate_json(out.value)

        assert once.model_dump(exclude={"event", "derived"}) == twice.model_dump(
            exclude={"event", "derived"}
        )
        assert once.event == (Envelope.model_validate(twice.event) if twice.event else None)
        assert once.derived == tuple(Envelope.model_validate(d) for d in twice.derived)


def test_the_audit_decides_in_the_orchestrators_context() -> None:
    engine = build_engine(SETTINGS)

    context_for, strategy_version = context_factory(SETTINGS)

    assert strategy_version == engine.strategy_version
    assert context_for(engine.ctx.policy) == engine.ctx
