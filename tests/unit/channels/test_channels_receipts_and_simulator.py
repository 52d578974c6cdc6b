"""Pure pieces: receipt normalisation, the simulator's deterministic choices, dedupe LRU."""

from __future__ import annotations

import pytest

from contracts.outcomes import OutcomeKind
from contracts.values import Channel
from services.channels.simulator import SimConfig
from services.channels.simulator.config import Reply, next_reply
from services.channels.simulator.vendor_logic import (
    arrange,
    call_statuses,
    opts_out,
    pick,
    sms_statuses,
)
from services.gateway.dedupe import SeenKeys
from services.gateway.receipts import read_receipt


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", OutcomeKind.ACCEPTED),
        ("delivered", OutcomeKind.DELIVERED),
        ("undelivered", OutcomeKind.UNDELIVERED),
        ("failed", OutcomeKind.FAILED),
        ("queued", None),
    ],
)
def test_sms_statuses_normalise_to_outcome_kinds(status: str, expected: OutcomeKind | None) -> None:
    """Final SMS states map to outcomes; interim ones to nothing."""
    receipt = read_receipt({"MessageSid": "SM1", "MessageStatus": status})

    assert (receipt.outcome if receipt else None) == expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("failed", "21610", OutcomeKind.OPTED_OUT),
        ("undelivered", "21610", OutcomeKind.OPTED_OUT),
        ("failed", "30003", OutcomeKind.FAILED),
        ("undelivered", "30003", OutcomeKind.UNDELIVERED),
    ],
)
def test_a_text_failed_because_the_person_opted_out_with_the_vendor_is_opted_out(
    status: str, code: str, expected: OutcomeKind
) -> None:
    """Sent through a messaging service, a text to someone who texted STOP is taken, then
    fails with 21610; any other error code is a plain failure. The code is kept as detail."""
    receipt = read_receipt({"MessageSid": "SM1", "MessageStatus": status, "ErrorCode": code})

    assert receipt is not None
    assert (receipt.outcome, receipt.detail) == (expected, f"error_code={code}")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", True),
        (" stop ", True),
        ("Unsubscribe", True),
        ("OPTOUT", True),
        ("START", False),
        ("unstop", False),
        ("please stop", None),  # the vendor acts on the keyword alone; Parley reads the rest
        ("", None),
    ],
)
def test_the_simulator_reads_opt_out_keywords_as_twilio_does(
    body: str, expected: bool | None
) -> None:
    assert opts_out(body) is expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"CallStatus": "no-answer"}, OutcomeKind.NO_ANSWER),
        ({"CallStatus": "busy"}, OutcomeKind.BUSY),
        ({"CallStatus": "failed"}, OutcomeKind.NOT_CONNECTED),
        ({"CallStatus": "completed", "AnsweredBy": "machine_end_beep"}, OutcomeKind.VOICEMAIL_LEFT),
        ({"CallStatus": "completed", "AnsweredBy": "human"}, OutcomeKind.CONVERSATION_RIGHT_PARTY),
        (
            {
                "CallStatus": "completed",
                "AnsweredBy": "human",
                "Disposition": "conversation_wrong_party",
            },
            OutcomeKind.CONVERSATION_WRONG_PARTY,
        ),
        ({"CallStatus": "ringing"}, None),
    ],
)
def test_call_statuses_and_dispositions_normalise_to_outcome_kinds(
    fields: dict[str, str], expected: OutcomeKind | None
) -> None:
    """Disposition wins; without it an answered call is conservatively a conversation."""
    receipt = read_receipt({"CallSid": "CA1", **fields})

    assert (receipt.outcome if receipt else None) == expected
    assert receipt is None or receipt.channel is Channel.CALL


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"MessageSid": "SM1"},
        {"MessageSid": "SM1", "MessageStatus": "weird"},
        {"CallSid": "C", "CallStatus": "completed", "Disposition": "x"},
    ],
)
def test_malformed_receipts_raise(form: dict[str, str]) -> None:
    """Missing or unknown fields are errors, not silent drops."""
    with pytest.raises(ValueError):  # noqa: PT011 (the message is not part of the contract)
        read_receipt(form)


def test_simulator_choices_are_deterministic_and_respect_weights() -> None:
    """Same number and token, same disposition; a zero weight is never chosen."""
    config = SimConfig(disposition_weights={"busy": 1, "no_answer": 0})

    first = call_statuses(config, "+14155550123", "att-1")
    again = call_statuses(config, "+14155550123", "att-1")

    assert first == again == [{"CallStatus": "busy", "Disposition": "busy"}]
    assert {pick({"a": 1, "b": 1}, "k", str(i)) for i in range(50)} == {"a", "b"}


def test_simulator_sms_callbacks_and_delivery_faults() -> None:
    """Sent then delivered; reorder reverses, duplicate repeats the whole sequence."""
    batch = sms_statuses(SimConfig(), "+14155550123", "att-1")

    assert [b["MessageStatus"] for b in batch] == ["sent", "delivered"]
    assert [b["MessageStatus"] for b in arrange(batch, reorder=True, duplicate=True)] == [
        "delivered",
        "sent",
        "delivered",
        "sent",
    ]


def test_scripted_replies_are_consumed_in_order_then_default() -> None:
    """[503, 429+Retry-After] then normal acceptance."""
    config = SimConfig(scripts={"messages": [503, Reply(status=429, retry_after=3)]})

    replies = [next_reply(config, "messages") for _ in range(3)]

    assert [(r.status, r.retry_after) for r in replies] == [(503, None), (429, 3), (201, None)]


def test_seen_keys_forget_the_oldest_beyond_capacity() -> None:
    """Bounded memory: the least recently seen key is dropped first."""
    seen = SeenKeys(capacity=2)

    assert seen.claim("a")
    assert seen.claim("b")
    assert not seen.claim("a")
    assert seen.claim("c")  # evicts "b"

    assert seen.claim("b")
