"""The envelope every record on every Parley topic carries."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts import Message
from contracts.values import BorrowerId

M = TypeVar("M", bound=Message)


class Envelope(BaseModel):
    """Metadata around one message. ``payload`` is validated against ``type``/``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    type: str = Field(max_length=64)
    schema_version: int = Field(ge=0)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    borrower_id: BorrowerId
    correlation_id: str | None = Field(default=None, max_length=128)
    causation_id: str | None = Field(default=None, max_length=128)
    producer: str = Field(max_length=64)
    payload: dict[str, Any]


class Decoded(BaseModel, Generic[M]):
    """An envelope whose payload has been upcast and validated into its contract class."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    envelope: Envelope
    message: M


def derive_id(*parts: str) -> str:
    """A deterministic id from its causes: the same inputs always give the same id (P2, P5)."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def wrap(
    message: Message,
    *,
    borrower_id: str,
    occurred_at: datetime,
    producer: str,
    event_id: str | None = None,
    recorded_at: datetime | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    payload = message.model_dump(mode="json")
    return Envelope(
        event_id=event_id
        or derive_id(message.TYPE, borrower_id, occurred_at.isoformat(), str(payload)),
        type=message.TYPE,
        schema_version=message.VERSION,
        occurred_at=occurred_at,
        recorded_at=recorded_at or occurred_at,
        borrower_id=borrower_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        producer=producer,
        payload=payload,
    )
