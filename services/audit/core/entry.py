"""A ledger entry as the audit reads it: decoded once, envelopes and messages all.

An entry holds its input envelope and the envelopes of every event derived from it, each
carrying a contract message as its payload. Reading the entry, then each envelope's payload
again into its contract class, built every payload twice (once as a dict, once as a message);
that was a fifth of the audit. So the entry is first decoded in one pass into envelopes whose
payloads are already messages: one envelope class per (type, schema version) this build knows,
chosen by the ``type`` field. An entry that does not decode that way (an older schema version,
a type this build does not know, or something invalid) is decoded the general way, as before,
and any error is that decoding's error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, cast

from pydantic import AwareDatetime, BaseModel, Field, ValidationError, create_model

from contracts import MESSAGE_TYPES, Message
from contracts.ledger import InputRef, LedgerEntry
from events.envelope import Envelope


class RecordedEntry(BaseModel):
    """The fields of ``LedgerEntry``, but with the input and every derived envelope validated in
    the same pass as the entry itself; a test keeps the two field lists equal."""

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


def _envelope_of(cls: type[Message]) -> type[Envelope]:
    """An envelope whose ``type`` and ``schema_version`` are this class's, and whose payload is
    the message itself (a subclass of ``Envelope``, so everything reading envelopes reads it)."""
    literal = cast(Any, Literal)  # of values known at run time only
    made: type[Envelope] = create_model(
        f"{cls.__name__}Envelope",
        __base__=Envelope,
        type=(literal[cls.TYPE], ...),
        schema_version=(literal[cls.VERSION], ...),
        payload=(cls, ...),
    )
    return made


_TYPED: Any = Annotated[
    Union[tuple(_envelope_of(cls) for cls in MESSAGE_TYPES.values())],  # noqa: UP007
    Field(discriminator="type"),
]


class _TypedEntry(RecordedEntry):
    event: _TYPED | None
    derived: tuple[_TYPED, ...] = ()


def read_entry(value: bytes | str) -> RecordedEntry:
    try:
        return _TypedEntry.model_validate_json(value)
    except ValidationError:
        return RecordedEntry.model_validate_json(value)


def message_of(envelope: Envelope) -> Message:
    """The contract message an envelope carries (KeyError for a type this build does not know)."""
    payload = cast(object, envelope.payload)
    if isinstance(payload, Message):
        return payload
    return MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)


def first_errors(exc: ValidationError, limit: int = 3) -> str:
    # Field paths and error kinds only: input values may hold PII and must not reach a report (P7).
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['type']}"
        for e in exc.errors()[:limit]
    )
