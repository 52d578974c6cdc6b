"""Settings refuse combinations that would fail later, in production, on the first bad input."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import ValidationError

from events.deadletter import MAX_DETAIL_CHARS, MAX_KEY_BYTES, DeadLetter, dead_letter
from events.serialization import Reason
from services.runtime.settings import CommonSettings

KAFKA_DEFAULT = 1_048_588  # Apache Kafka's message.max.bytes


def _largest_dead_letter(max_record_bytes: int) -> int:
    """The dead letter of an input as large as the producers accept (4x the setting), as the
    consumers write it: the value cut at twice the setting, an oversized key and detail."""
    _, value = dead_letter(
        topic="parley.upstream",
        partition=1023,
        offset=2**62,
        key=b"k" * (8 * MAX_KEY_BYTES),
        value=b"\xff" * (4 * max_record_bytes),
        reason=Reason.OVERSIZED,
        detail="d" * (8 * MAX_DETAIL_CHARS),
        consumer="parley-orchestrator",
        max_value_bytes=2 * max_record_bytes,
    )
    return len(value)


def test_the_default_record_limit_leaves_dead_letters_within_kafkas_default_limit() -> None:
    """P3: a dead letter the broker refused would stop the service on the input it reports."""
    settings = CommonSettings()

    assert settings.broker_max_message_bytes == KAFKA_DEFAULT
    assert _largest_dead_letter(settings.max_record_bytes) <= KAFKA_DEFAULT


def test_a_record_limit_whose_dead_letters_would_not_fit_the_broker_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(max_record_bytes=512 * 1024)

    [error] = refused.value.errors()
    assert error["loc"] == ("max_record_bytes",)
    assert "PARLEY_BROKER_MAX_MESSAGE_BYTES" in error["msg"]


def test_the_largest_record_limit_it_names_is_accepted_and_its_dead_letters_fit() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(max_record_bytes=10**6)
    largest = int(refused.value.errors()[0]["msg"].rsplit("at most ", 1)[1].split()[0])

    assert CommonSettings(max_record_bytes=largest).max_record_bytes == largest
    assert _largest_dead_letter(largest) <= KAFKA_DEFAULT
    with pytest.raises(ValidationError):
        CommonSettings(max_record_bytes=largest + 1)


def test_a_broker_that_takes_larger_records_allows_a_larger_record_limit() -> None:
    settings = CommonSettings(broker_max_message_bytes=8 << 20, max_record_bytes=2 << 20)

    assert _largest_dead_letter(settings.max_record_bytes) <= settings.broker_max_message_bytes


def test_an_oversized_key_and_detail_are_cut_and_the_key_identified() -> None:
    """A key is an id: one longer than MAX_KEY_BYTES keeps its first bytes, size and digest, as
    an oversized value does; the original is still at its source offset (P3)."""
    key = b"k" * (MAX_KEY_BYTES + 1)
    _, value = dead_letter(
        topic="parley.upstream",
        partition=0,
        offset=0,
        key=key,
        value=b"{}",
        reason=Reason.MISSING_KEY,
        detail="d" * (MAX_DETAIL_CHARS + 1),
        consumer="parley-orchestrator",
    )
    letter = DeadLetter.model_validate_json(value)

    assert letter.key_truncated
    assert letter.key_size == len(key)
    assert letter.key_sha256 == hashlib.sha256(key).hexdigest()
    assert base64.b64decode(letter.key_b64 or "") == key[:MAX_KEY_BYTES]
    assert len(letter.detail) == MAX_DETAIL_CHARS
    assert letter.original_value() == b"{}"
    assert not letter.value_truncated
