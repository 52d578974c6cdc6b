"""Adapter -> simulator -> signed callback -> gateway over real HTTP -> sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived, OutcomeKind
from services.channels.adapters import TwilioVoice
from services.gateway import InMemoryDirectory
from tests.integration.channels.channels_support import (
    PHONE,
    SID,
    TOKEN,
    ListSink,
    RecordingSleep,
    call,
    clock,
    fast_retry,
    gateway_serving,
    running_simulator,
    sms,
    twilio_sms,
)


@asynccontextmanager
async def running_gateway() -> AsyncIterator[tuple[str, ListSink]]:
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE], loans=["loan-1"])
    async with gateway_serving(directory) as served:
        yield served


def outcomes(sink: ListSink) -> list[ContactOutcomeRecorded]:
    return [m for m in sink.messages if isinstance(m, ContactOutcomeRecorded)]


async def test_sms_receipts_flow_from_simulator_to_the_sink_once_despite_duplicates() -> None:
    """Sent and delivered receipts, duplicated and reordered by the vendor, arrive at the sink
    signed, deduplicated and tied to the attempt and the vendor's message sid."""
    async with (
        running_gateway() as (gateway_url, sink),
        running_simulator(duplicate_callbacks=True, reorder_callbacks=True) as (sim, sim_url),
    ):
        adapter = twilio_sms(sim_url, RecordingSleep(), callback_base_url=gateway_url)
        result = await adapter.send(sms("att-e2e"))
        await sim.drain()
        await adapter.aclose()

    assert sim.stats()["callbacks_sent"] == 4
    received = outcomes(sink)
    assert [o.outcome for o in received] == [OutcomeKind.DELIVERED, OutcomeKind.ACCEPTED]
    assert {(o.attempt_id, o.external_id) for o in received} == {("att-e2e", result.external_id)}
    assert {borrower for _, borrower in sink.emitted} == {"borrower-1"}


async def test_call_disposition_flows_from_simulator_to_the_sink() -> None:
    """A placed call comes back as exactly one call outcome, chosen deterministically."""
    sleep = RecordingSleep()
    async with running_gateway() as (gateway_url, sink), running_simulator() as (sim, sim_url):
        adapter = TwilioVoice(
            base_url=sim_url,
            account_sid=SID,
            auth_token=TOKEN,
            from_number="+15005550006",
            callback_base_url=gateway_url,
            retry=fast_retry(sleep),
            clock=clock,
        )
        result = await adapter.send(call("att-call-e2e"))
        await sim.drain()
        await adapter.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    [outcome] = outcomes(sink)
    assert outcome.attempt_id == "att-call-e2e"
    assert outcome.external_id == result.external_id
    assert outcome.outcome in {
        OutcomeKind.CONVERSATION_RIGHT_PARTY,
        OutcomeKind.CONVERSATION_WRONG_PARTY,
        OutcomeKind.VOICEMAIL_LEFT,
        OutcomeKind.NO_ANSWER,
        OutcomeKind.BUSY,
        OutcomeKind.NOT_CONNECTED,
    }


async def test_inbound_text_flows_from_simulator_to_the_sink() -> None:
    """The simulator's signed inbound webhook reaches the gateway as InboundMessageReceived."""
    async with running_gateway() as (gateway_url, sink):
        inbound_url = f"{gateway_url}/webhooks/twilio/inbound"
        async with running_simulator(inbound_url=inbound_url) as (sim, _sim_url):
            status = await sim.send_inbound(PHONE, "+15005550006", "STOP")

    assert status == 200
    [(message, borrower)] = sink.emitted
    assert isinstance(message, InboundMessageReceived)
    assert (message.body, borrower) == ("STOP", "borrower-1")
