"""A ledger entry as the audit reads it: decoded once, envelopes and all."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ValidationError

from contracts import MESSAGE_TYPES, Message
from contracts.ledger import InputRef, LedgerEntry
from events.envelope import Envelope


class RecordedEntry(BaseModel):
    """The fields of ``LedgerEntry``, but with the input and every derived envelope validated in
    the same pass as the entry itself. Reading ``LedgerEntry`` and then validating each envelope
    dict again cost the audit a second decode of every record; a test keeps the two field lists
    equal."""

    model_config = LedgerEntry.model_config

    entry_id: str
    borrower_id: str
    now: AwareDatetime
    policy_version: str
    strategy_version: str
    input: InputRef | None
    event: Envelope | None
    duplicate: bool = False
    derived: tuple[Envelope, ...] = ()


def read_entry(value: bytes | str) -> RecordedEntry:
    return RecordedEntry.model_validate_json(value)


def message_of(envelope: Envelope) -> Message:
    """The contract message an envelope carries (KeyError for a type this build does not know)."""
    return MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)


def first_errors(exc: ValidationError, limit: int = 3) -> str:
    # Field paths and error kinds only: input values may hold PII and must not reach a report (P7).
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['type']}"
        for e in exc.errors()[:limit]
    )
