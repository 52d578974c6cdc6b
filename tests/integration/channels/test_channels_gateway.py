"""The inbound gateway as an ASGI app: signatures, dedupe, ordering, limits, inbound texts."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from urllib.parse import urlencode

import httpx
import pytest
from structlog.testing import capture_logs

from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived, OutcomeKind
from contracts.values import Channel
from services.gateway import InMemoryDirectory
from services.gateway.signing import compute_signature
from tests.integration.channels.channels_support import (
    GATEWAY_BASE,
    GATEWAY_TOKEN,
    NOW,
    PHONE,
    ListSink,
    gateway_over,
    post_signed,
)

BASE, TOKEN = GATEWAY_BASE, GATEWAY_TOKEN
STATUS_PATH = "/webhooks/twilio/status?" + urlencode({"attempt": "att-9", "party": "party-1"})


def gateway() -> AbstractAsyncContextManager[tuple[httpx.AsyncClient, ListSink]]:
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE])
    directory.add("borrower-2", "party-7", [PHONE])  # a guarantor sharing the number
    return gateway_over(directory)


def sms_status(status: str, sid: str = "SM123") -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1", "To": PHONE}


async def test_status_callback_becomes_contact_outcome_keyed_by_borrower() -> None:
    """A signed delivery receipt is recorded with the vendor's sid and the gateway's clock."""
    async with gateway() as (client, sink):
        response = await post_signed(client, STATUS_PATH, sms_status("delivered"))

    assert response.status_code == 204
    assert sink.emitted == [
        (
            ContactOutcomeRecorded(
                attempt_id="att-9",
                channel=Channel.SMS,
                outcome=OutcomeKind.DELIVERED,
                vendor="twilio",
                external_id="SM123",
                reported_at=NOW,
            ),
            "borrower-1",
        )
    ]


async def test_forged_or_missing_signature_is_rejected_and_nothing_emitted() -> None:
    """A wrong token, a tampered field or no signature at all: 401 and no outcome."""
    async with gateway() as (client, sink):
        forged = await post_signed(client, STATUS_PATH, sms_status("delivered"), token="guess")
        unsigned = await client.post(STATUS_PATH, data=sms_status("delivered"))
        good = compute_signature(BASE + STATUS_PATH, list(sms_status("delivered").items()), TOKEN)
        tampered = await client.post(
            STATUS_PATH, data=sms_status("undelivered"), headers={"X-Twilio-Signature": good}
        )

    assert [forged.status_code, unsigned.status_code, tampered.status_code] == [401, 401, 401]
    assert sink.emitted == []


async def test_replayed_duplicate_callback_is_emitted_once() -> None:
    """Vendors retry webhooks; the same (vendor, sid, status) is recorded only once."""
    async with gateway() as (client, sink):
        first = await post_signed(client, STATUS_PATH, sms_status("delivered"))
        again = await post_signed(client, STATUS_PATH, sms_status("delivered"))

    assert first.status_code == again.status_code == 204
    assert len(sink.emitted) == 1


async def test_out_of_order_callbacks_are_both_accepted() -> None:
    """'delivered' arriving before 'sent' is normal; both are recorded, in arrival order."""
    async with gateway() as (client, sink):
        delivered = await post_signed(client, STATUS_PATH, sms_status("delivered"))
        sent = await post_signed(client, STATUS_PATH, sms_status("sent"))

    assert delivered.status_code == sent.status_code == 204
    outcomes = [m.outcome for m in sink.messages if isinstance(m, ContactOutcomeRecorded)]
    assert outcomes == [OutcomeKind.DELIVERED, OutcomeKind.ACCEPTED]


async def test_malformed_callbacks_get_400_and_emit_nothing() -> None:
    """Signed but unusable: no status fields, unknown status, or no attempt id in the URL."""
    async with gateway() as (client, sink):
        no_status = await post_signed(client, STATUS_PATH, {"AccountSid": "AC1"})
        unknown = await post_signed(client, STATUS_PATH, sms_status("exploded"))
        no_attempt = await post_signed(
            client, "/webhooks/twilio/status?party=p", sms_status("sent")
        )

    assert [no_status.status_code, unknown.status_code, no_attempt.status_code] == [400, 400, 400]
    assert sink.emitted == []


async def test_oversized_body_gets_413_and_emits_nothing() -> None:
    """Bodies over 64 KiB are refused before they are parsed."""
    params = {**sms_status("delivered"), "Padding": "x" * (64 * 1024)}
    async with gateway() as (client, sink):
        response = await post_signed(client, STATUS_PATH, params)

    assert response.status_code == 413
    assert sink.emitted == []


async def test_interim_status_is_acknowledged_without_an_outcome() -> None:
    """'queued' or 'ringing' say nothing final: 204 and nothing recorded."""
    async with gateway() as (client, sink):
        response = await post_signed(client, STATUS_PATH, sms_status("queued"))

    assert response.status_code == 204
    assert sink.emitted == []


async def test_call_disposition_maps_to_its_outcome_kind() -> None:
    """The dialer's Disposition decides the outcome (voicemail left, not just 'completed')."""
    params = {
        "CallSid": "CA9",
        "CallStatus": "completed",
        "AnsweredBy": "machine_end_beep",
        "Disposition": "voicemail_left",
    }
    async with gateway() as (client, sink):
        await post_signed(client, STATUS_PATH, params)

    [message] = sink.messages
    assert isinstance(message, ContactOutcomeRecorded)
    assert (message.channel, message.outcome) == (Channel.CALL, OutcomeKind.VOICEMAIL_LEFT)


async def test_receipt_for_an_unknown_party_is_accepted_logged_and_not_emitted() -> None:
    """Without a borrower id there is no partition key: 202, a warning with the attempt id."""
    path = "/webhooks/twilio/status?" + urlencode({"attempt": "att-lost", "party": "nobody"})
    async with gateway() as (client, sink):
        with capture_logs() as logs:
            response = await post_signed(client, path, sms_status("delivered"))

    assert response.status_code == 202
    assert sink.emitted == []
    assert {"event": "gateway.unrouted_receipt", "attempt_id": "att-lost"}.items() <= logs[
        -1
    ].items()


async def test_inbound_stop_is_emitted_for_every_borrower_using_the_number() -> None:
    """An inbound STOP becomes InboundMessageReceived per mapped borrower, uninterpreted, and
    the vendor gets empty TwiML back."""
    params = {"MessageSid": "SMin1", "From": PHONE, "To": "+15005550006", "Body": "STOP"}
    async with gateway() as (client, sink):
        response = await post_signed(client, "/webhooks/twilio/inbound", params)
        duplicate = await post_signed(client, "/webhooks/twilio/inbound", params)

    assert response.status_code == duplicate.status_code == 200
    assert "<Response/>" in response.text
    assert sorted(borrower for _, borrower in sink.emitted) == ["borrower-1", "borrower-2"]
    message = sink.messages[0]
    assert isinstance(message, InboundMessageReceived)
    assert (message.body, message.external_id, message.received_at) == ("STOP", "SMin1", NOW)
    # Both copies revoke; one confirms (TC-4).
    confirming = {
        borrower: m.confirms_opt_out
        for m, borrower in sink.emitted
        if isinstance(m, InboundMessageReceived)
    }
    assert confirming == {"borrower-1": True, "borrower-2": False}


@pytest.mark.parametrize("to_number", ["1069012345678", "10690123456789012", "18005550111"])
async def test_a_stop_sent_to_a_106_or_national_number_is_accepted(to_number: str) -> None:
    """Vendors report Chinese 106 service numbers and national numbers as bare digits in `To`;
    a 4xx is not retried, so refusing one would lose the 退订 in it (P6)."""
    params = {"MessageSid": "SMcn1", "From": PHONE, "To": to_number, "Body": "退订"}
    async with gateway() as (client, sink):
        response = await post_signed(client, "/webhooks/twilio/inbound", params)

    assert response.status_code == 200
    assert {(m.to_number, b) for m, b in sink.emitted if isinstance(m, InboundMessageReceived)} == {
        (to_number, "borrower-1"),
        (to_number, "borrower-2"),
    }


async def _confirming(directory: InMemoryDirectory) -> dict[str, bool]:
    """Post a STOP from the shared PHONE; which borrower's copy confirms it (TC-4)."""
    params = {"MessageSid": "SMin2", "From": PHONE, "To": "+15005550006", "Body": "STOP"}
    async with gateway_over(directory) as (client, sink):
        await post_signed(client, "/webhooks/twilio/inbound", params)
    return {
        borrower: m.confirms_opt_out
        for m, borrower in sink.emitted
        if isinstance(m, InboundMessageReceived)
    }


async def test_the_copy_that_confirms_does_not_depend_on_which_borrower_was_read_first() -> None:
    """A retry after a restart, with the directory rebuilt in another order, must mark the same
    copy: otherwise a second borrower's copy would confirm again (TC-4)."""
    directory = InMemoryDirectory()
    directory.add("borrower-2", "party-7", [PHONE])
    directory.add("borrower-1", "party-1", [PHONE])

    assert await _confirming(directory) == {"borrower-1": True, "borrower-2": False}


async def test_a_borrower_with_no_debt_on_file_does_not_take_the_confirmation() -> None:
    """Profiled before any loan, a0 has nothing to confirm an opt-out about: b1, whose debt is
    on file, confirms, though a0's id is the lesser."""
    directory = InMemoryDirectory()
    directory.add("a0", "a0", [PHONE])
    directory.add("b1", "b1", [PHONE], loans=["L1"])

    assert await _confirming(directory) == {"a0": False, "b1": True}


async def test_health_answers_ok() -> None:
    """Liveness for the operator's ingress."""
    async with gateway() as (client, _sink):
        response = await client.get("/health")

    assert response.status_code == 200
