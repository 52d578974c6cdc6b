"""Bytes <-> envelopes. Every way a record can be unusable maps to one machine-readable reason."""

from __future__ import annotations

import json
from collections.abc import Collection
from enum import StrEnum

from pydantic import ValidationError

from contracts import MESSAGE_TYPES, Message
from contracts.values import INGEST
from events.envelope import Decoded, Envelope
from events.upcasting import NoUpcastPath, upcast

DEFAULT_MAX_RECORD_BYTES = 256 * 1024


class Reason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    UNEXPECTED_EVENT_TYPE = (
        "unexpected_event_type"  # a known type on a topic that does not carry it
    )
    OVERSIZED = "oversized"
    MISSING_KEY = "missing_key"
    KEY_MISMATCH = "key_mismatch"  # Kafka key != envelope borrower id
    MISROUTED = "misrouted"  # partition is not the one the key hashes to
    PROCESSING_ERROR = "processing_error"  # valid record the core could not handle (a bug)
    FUTURE_DATED = "future_dated"  # occurred_at further ahead of the wall clock than allowed


class Undecodable(Exception):
    """A record that cannot be processed; it goes to the dead-letter topic with ``reason``."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:1000]


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    # Field paths and error kinds only: input values may hold PII and must not reach logs (P7).
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['type']}"
        for e in exc.errors()[:limit]
    )


def decode(
    value: bytes | None,
    key: bytes | None,
    *,
    accept: Collection[str] | None = None,
    max_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Decoded[Message]:
    if not key:
        raise Undecodable(Reason.MISSING_KEY, "record has no key; borrower id expected")
    if value is None:
        raise Undecodable(Reason.MALFORMED_JSON, "record has no value")
    if len(value) > max_bytes:
        raise Undecodable(Reason.OVERSIZED, f"{len(value)} bytes > limit {max_bytes}")
    try:
        raw = json.loads(value)
    except (ValueError, RecursionError) as exc:
        # ValueError: bad UTF-8 or JSON, or an integer of more digits than Python converts;
        # RecursionError: nesting deeper than the parser goes. Each is this record's problem.
        raise Undecodable(
            Reason.MALFORMED_JSON, f"{type(exc).__name__} at position {getattr(exc, 'pos', '?')}"
        ) from None
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise Undecodable(Reason.SCHEMA_VIOLATION, "envelope: " + _first_errors(exc)) from None
    if envelope.borrower_id.encode() != key:
        raise Undecodable(Reason.KEY_MISMATCH, "key differs from envelope borrower_id")
    cls = MESSAGE_TYPES.get(envelope.type)
    if cls is None:
        raise Undecodable(Reason.UNKNOWN_EVENT_TYPE, f"type {envelope.type!r}")
    if accept is not None and envelope.type not in accept:
        raise Undecodable(Reason.UNEXPECTED_EVENT_TYPE, f"type {envelope.type!r} not accepted here")
    try:
        payload = upcast(envelope.type, envelope.schema_version, cls.VERSION, envelope.payload)
    except NoUpcastPath as exc:
        raise Undecodable(Reason.UNKNOWN_SCHEMA_VERSION, str(exc)) from None
    try:
        message = cls.model_validate(payload, context=INGEST)
    except ValidationError as exc:
        raise Undecodable(
            Reason.SCHEMA_VIOLATION, f"{envelope.type}: " + _first_errors(exc)
        ) from None
    if envelope.schema_version != cls.VERSION:
        envelope = envelope.model_copy(update={"schema_version": cls.VERSION, "payload": payload})
    return Decoded[Message](envelope=envelope, message=message)
