"""The gateway while its directory is still replaying the upstream topic (after a start or a
restart), and inbound texts sent to a short code.

Until the directory has caught up, "no borrower for this party / number" may only mean "not read
yet". Acknowledging such a webhook would make the vendor drop it for good: a STOP lost (P6, TC-2),
a receipt lost (P3). So the gateway answers 503 with Retry-After and emits nothing; the vendor's
redelivery, once the directory is ready, is routed as usual. After catch-up an unknown number is
genuinely unknown and keeps its documented answer (200 empty TwiML / 202)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from structlog.testing import capture_logs

from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived, OutcomeKind
from services.gateway import InMemoryDirectory
from tests.integration.channels.channels_support import PHONE, post_signed
from tests.integration.channels.channels_support import gateway_over as gateway

INBOUND = "/webhooks/twilio/inbound"
STATUS_PATH = "/webhooks/twilio/status?" + urlencode({"attempt": "att-9", "party": "party-1"})
STOP = {"MessageSid": "SMstop1", "From": PHONE, "To": "+15005550006", "Body": "STOP"}


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0


async def test_stop_before_catch_up_is_refused_retryably_then_routed_on_redelivery() -> None:
    """A known borrower's STOP arrives while the directory has not replayed their profile: 503 +
    Retry-After and nothing emitted (not a 200 that ends the vendor's retries). The redelivery
    after catch-up becomes the borrower's InboundMessageReceived."""
    directory = InMemoryDirectory(ready=False)
    async with gateway(directory) as (client, sink):
        with capture_logs() as logs:
            early = await post_signed(client, INBOUND, STOP)
        directory.add("borrower-1", "party-1", [PHONE])  # the replay reaches the profile
        directory.mark_ready()
        redelivered = await post_signed(client, INBOUND, STOP)

    assert_retry_later(early)
    assert {"event": "gateway.directory_not_ready", "external_id": "SMstop1"}.items() <= logs[
        -1
    ].items()
    assert redelivered.status_code == 200
    assert "<Response/>" in redelivered.text
    [(message, borrower)] = sink.emitted
    assert isinstance(message, InboundMessageReceived)
    assert (message.body, borrower) == ("STOP", "borrower-1")


async def test_stop_before_catch_up_is_not_half_routed_to_the_borrowers_read_so_far() -> None:
    """Borrower and guarantor share a number, and only the borrower's profile has been replayed.
    Emitting to the borrower alone and answering 200 would lose the guarantor's opt-out, and
    emitting and asking for a retry would have the retry dropped as a duplicate; so nothing is
    emitted until the directory is ready, and then the STOP reaches both."""
    directory = InMemoryDirectory(ready=False)
    directory.add("borrower-1", "party-1", [PHONE])
    async with gateway(directory) as (client, sink):
        early = await post_signed(client, INBOUND, STOP)
        assert sink.emitted == []
        directory.add("borrower-2", "party-7", [PHONE])
        directory.mark_ready()
        redelivered = await post_signed(client, INBOUND, STOP)

    assert_retry_later(early)
    assert redelivered.status_code == 200
    assert sorted(borrower for _, borrower in sink.emitted) == ["borrower-1", "borrower-2"]


async def test_receipt_before_catch_up_is_refused_retryably_then_recorded_on_redelivery() -> None:
    """A receipt for a party the directory has not read yet: 503 + Retry-After, not the 202 that
    drops it; the redelivery after catch-up is recorded for the borrower."""
    receipt = {"MessageSid": "SM123", "MessageStatus": "delivered", "AccountSid": "AC1"}
    directory = InMemoryDirectory(ready=False)
    async with gateway(directory) as (client, sink):
        early = await post_signed(client, STATUS_PATH, receipt)
        directory.add("borrower-1", "party-1", [PHONE])
        directory.mark_ready()
        redelivered = await post_signed(client, STATUS_PATH, receipt)

    assert_retry_later(early)
    assert redelivered.status_code == 204
    [(message, borrower)] = sink.emitted
    assert isinstance(message, ContactOutcomeRecorded)
    assert (message.outcome, borrower) == (OutcomeKind.DELIVERED, "borrower-1")


async def test_receipt_for_a_party_already_read_is_recorded_before_catch_up() -> None:
    """A party maps to one borrower, so a party already read is routed at once."""
    receipt = {"MessageSid": "SM124", "MessageStatus": "delivered", "AccountSid": "AC1"}
    directory = InMemoryDirectory(ready=False)
    directory.add("borrower-1", "party-1", [PHONE])
    async with gateway(directory) as (client, sink):
        response = await post_signed(client, STATUS_PATH, receipt)

    assert response.status_code == 204
    assert [borrower for _, borrower in sink.emitted] == ["borrower-1"]


async def test_unknown_number_after_catch_up_is_still_acknowledged_and_dropped() -> None:
    """Once caught up, a number nobody uses is genuinely unknown: 200 empty TwiML, a warning,
    nothing emitted (retrying it would never route it)."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE])
    stranger = {**STOP, "MessageSid": "SMstranger", "From": "+12125550999"}
    async with gateway(directory) as (client, sink):
        with capture_logs() as logs:
            response = await post_signed(client, INBOUND, stranger)

    assert response.status_code == 200
    assert "<Response/>" in response.text
    assert sink.emitted == []
    assert logs[-1]["event"] == "gateway.unrouted_inbound"


async def test_malformed_inbound_before_catch_up_is_400_not_a_retry() -> None:
    """Something that will never be valid is refused as such, not deferred."""
    directory = InMemoryDirectory(ready=False)
    async with gateway(directory) as (client, sink):
        response = await post_signed(client, INBOUND, {**STOP, "To": "not-a-number"})

    assert response.status_code == 400
    assert sink.emitted == []


async def test_stop_sent_to_a_short_code_is_emitted() -> None:
    """Replies to a short code carry a non-E.164 To ("12345", "890123"); the STOP still counts."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE])
    async with gateway(directory) as (client, sink):
        five = await post_signed(client, INBOUND, {**STOP, "MessageSid": "SMsc5", "To": "12345"})
        six = await post_signed(client, INBOUND, {**STOP, "MessageSid": "SMsc6", "To": "890123"})

    assert five.status_code == six.status_code == 200
    assert [(m.to_number, b) for m, b in sink.emitted if isinstance(m, InboundMessageReceived)] == [
        ("12345", "borrower-1"),
        ("890123", "borrower-1"),
    ]


async def test_ready_endpoint_holds_traffic_back_until_the_directory_has_caught_up() -> None:
    """``/ready`` (an orchestrator's readiness probe) is 503 + Retry-After while the directory
    replays and 200 once it has caught up; ``/health`` (liveness) is 200 throughout, since
    restarting the process would only start the replay over."""
    directory = InMemoryDirectory(ready=False)
    async with gateway(directory) as (client, _sink):
        replaying = await client.get("/ready")
        alive = await client.get("/health")
        directory.mark_ready()
        caught_up = await client.get("/ready")

    assert_retry_later(replaying)
    assert replaying.json() == {"status": "catching_up"}
    assert alive.status_code == 200
    assert (caught_up.status_code, caught_up.json()) == (200, {"status": "ready"})
