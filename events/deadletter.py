"""Dead letters: what could not be processed, why, and the original bytes (nothing is lost, P3)."""

from __future__ import annotations

import base64
import hashlib
import re

from pydantic import BaseModel, ConfigDict

from events.records import Out, Record
from events.serialization import Reason

_OPAQUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Bounds on what a dead letter carries besides the value, so that its size is bounded by the
# value's limit alone and it always fits the broker (runtime.settings checks that sum).
MAX_KEY_BYTES = 1024
MAX_DETAIL_CHARS = 1000
# A dead letter carries an input of up to this many times the record limit whole, and cuts a
# larger one there: the producers' request limit is 4x the record limit (runtime.kafka), and a
# value of twice it, base64'd (4/3), fits with room to spare.
KEPT_VALUE_FACTOR = 2
_OTHER_FIELDS = 16 * 1024  # key and detail at their bounds, escaped, and the names


def largest_dead_letter(max_record_bytes: int) -> int:
    """An upper bound on the bytes of a dead letter written under this record limit."""
    return (KEPT_VALUE_FACTOR * max_record_bytes + 2) // 3 * 4 + _OTHER_FIELDS


def largest_record_limit(message_limit: int) -> int:
    """The largest record limit whose dead letters fit a broker taking ``message_limit``."""
    return (message_limit - _OTHER_FIELDS) // 4 * 3 // KEPT_VALUE_FACTOR


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source_topic: str
    partition: int
    offset: int
    reason: Reason
    detail: str
    consumer: str
    key_b64: str | None
    value_b64: str | None
    # A value too large to carry whole (it would break the producer's request limit, and the
    # dead letter would be lost) carries its first bytes; its size and digest identify the
    # original, which is still at source_topic/partition/offset.
    value_truncated: bool = False
    value_size: int | None = None
    value_sha256: str | None = None
    # Likewise a key longer than any id (MAX_KEY_BYTES): its first bytes, size and digest.
    key_truncated: bool = False
    key_size: int | None = None
    key_sha256: str | None = None

    def original_value(self) -> bytes | None:
        return base64.b64decode(self.value_b64) if self.value_b64 is not None else None


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: Reason,
    detail: str,
    consumer: str,
    max_value_bytes: int | None = None,
) -> tuple[bytes, bytes]:
    """The dead-letter record (key, value). The key is reused only if it is an opaque id (P7).
    A value longer than ``max_value_bytes`` is cut to that many bytes, with its size and digest.
    """
    safe_key = key if key and _OPAQUE.match(key.decode("utf-8", "replace")) else b"invalid-key"
    value, size, digest = _cut(value, max_value_bytes)
    key, key_size, key_digest = _cut(key, MAX_KEY_BYTES)
    record = DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        reason=reason,
        detail=detail[:MAX_DETAIL_CHARS],
        consumer=consumer,
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        value_b64=base64.b64encode(value).decode() if value is not None else None,
        value_truncated=digest is not None,
        value_size=size,
        value_sha256=digest,
        key_truncated=key_digest is not None,
        key_size=key_size,
        key_sha256=key_digest,
    )
    return safe_key, record.model_dump_json().encode()


def _cut(data: bytes | None, limit: int | None) -> tuple[bytes | None, int | None, str | None]:
    """``data`` cut to ``limit`` bytes, with the original's size and SHA-256 if it was cut."""
    if data is None or limit is None or len(data) <= limit:
        return data, None, None
    return data[:limit], len(data), hashlib.sha256(data).hexdigest()


def dead_letter_out(
    record: Record,
    deadletter_topic: str,
    reason: Reason,
    detail: str,
    consumer: str,
    max_record_bytes: int | None = None,
) -> Out:
    """The dead letter for a consumed record, on the same partition (co-partitioning)."""
    key, value = dead_letter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        reason=reason,
        detail=detail,
        consumer=consumer,
        max_value_bytes=(
            KEPT_VALUE_FACTOR * max_record_bytes if max_record_bytes is not None else None
        ),
    )
    return Out(deadletter_topic, record.partition, key, value)
