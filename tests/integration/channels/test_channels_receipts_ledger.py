"""Receipts through the real gateway, broker and orchestrator, judged where they matter: the
ledger, and the attempt's state restored from it.

The gateway's in-memory dedupe is covered in test_channels_gateway.py; here the gateway restarts
and forgets, so what keeps a re-posted receipt from counting twice is its event id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import BorrowerProfiled, ConsentGranted, LoanOpened
from contracts.outcomes import OutcomeKind
from contracts.upstream import RequestContact
from contracts.values import Address, Channel, Money, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.topics import Role, Topics
from services.gateway.settings import GatewaySettings
from services.gateway.signing import compute_signature
from services.orchestrator.app import build_engine
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.clock import SimClock
from services.runtime.tansu import free_port
from services.stack import run_services
from tests.integration.channels.channels_support import SID
from tests.support.pipeline import (
    FAST,
    PARTITIONS,
    orchestrator_settings,
    producer,
    read_topic,
    running_orchestrator,
    send_envelope,
    wait_settled,
)

pytestmark = pytest.mark.broker

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York: inside every calling window
BORROWER = "b-receipts-1"
MOBILE = "+15185550147"  # Albany: a 212 number would bring NYC's written-consent rule
TOKEN = "receipts-token"
MESSAGE_SID = "SM" + "7" * 32


@asynccontextmanager
async def running_gateway(bootstrap: str, topics: Topics, port: int) -> AsyncIterator[str]:
    """The production gateway (Kafka sink, directory from the upstream topic) as one process
    lifetime: leaving the block is a restart's worth of forgetting."""
    settings = GatewaySettings.model_validate(
        {**FAST, "namespace": topics.namespace, "port": port, "vendor_auth_token": TOKEN}
    )
    clock = SimClock(T0 + timedelta(minutes=1))
    async with run_services(bootstrap, ("gateway",), clock, gateway=settings) as running:
        url, directory = running.gateway_url, running.directory
        assert url is not None
        assert directory is not None
        for _ in range(200):  # the directory is a projection: wait until it knows the borrower
            if directory.borrower_for_party(BORROWER):
                break
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("the gateway's directory never learned the borrower")
        yield url


async def post_sms_status(gateway_url: str, attempt_id: str, status: str) -> int:
    """A Twilio-style status callback, signed as the vendor signs it."""
    path = "/webhooks/twilio/status?" + urlencode({"attempt": attempt_id, "party": BORROWER})
    form = {"MessageSid": MESSAGE_SID, "MessageStatus": status, "AccountSid": SID, "To": MOBILE}
    signature = compute_signature(gateway_url + path, list(form.items()), TOKEN)
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    return response.status_code


async def authorise_an_sms(
    bootstrap: str, p: AIOKafkaProducer, topics: Topics, settings: OrchestratorSettings
) -> str:
    """A New York borrower with SMS consent, and a desk asking to text them: the attempt id."""
    facts = [
        BorrowerProfiled(
            party_id=BORROWER,
            name="Ann",
            addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
            phones=(Phone(number=MOBILE, type=PhoneType.MOBILE),),
        ),
        ConsentGranted(party_id=BORROWER, channel=Channel.SMS, address=MOBILE, received_at=T0),
        LoanOpened(loan_id="L1", product="p", principal=Money(amount=Decimal(500), currency="USD")),
        RequestContact(
            request_id="r1",
            party_id=BORROWER,
            loan_id="L1",
            channel=Channel.SMS,
            to=MOBILE,
            requested_by="desk",
        ),
    ]
    for fact in facts:
        await send_envelope(
            p, topics.upstream, wrap(fact, borrower_id=BORROWER, occurred_at=T0, producer="test")
        )
    await settled(bootstrap, settings, topics)
    [task] = await read_topic(bootstrap, topics.name(Role.TASKS_SMS))
    return str(json.loads(task.value)["payload"]["attempt_id"])


async def settled(bootstrap: str, settings: OrchestratorSettings, topics: Topics) -> None:
    await wait_settled(bootstrap, settings.group_id, [topics.upstream, topics.outcomes])


async def gateway_outcomes_in_ledger(bootstrap: str, topics: Topics) -> list[dict[str, Any]]:
    entries = [json.loads(r.value) for r in await read_topic(bootstrap, topics.ledger)]
    return [
        e
        for e in entries
        if e["event"]
        and e["event"]["type"] == "contact.outcome"
        and e["event"]["producer"] == "gateway"
    ]


async def restored_outcome(
    bootstrap: str, topics: Topics, settings: OrchestratorSettings, attempt_id: str
) -> OutcomeKind | None:
    """The attempt's outcome as a restarted orchestrator (or an auditor) rebuilds it."""
    engine = build_engine(settings)
    for partition in range(PARTITIONS):
        engine.assign(partition)
    for record in await read_topic(bootstrap, topics.ledger):
        engine.restore(record.partition, record.value)
    state = engine.states[partition_for(BORROWER.encode(), PARTITIONS)].borrowers[BORROWER]
    return state.attempts[attempt_id].outcome


def _settings(topics: Topics) -> OrchestratorSettings:
    # Topic clock: decisions happen at the facts' own time (10:00 in New York), not the wall's.
    return orchestrator_settings(topics, clock="topic", group_id=f"{topics.namespace}.orch")


async def test_a_receipt_reposted_after_restarts_is_applied_to_the_ledger_once(
    bootstrap: str, topics: Topics
) -> None:
    """Posted, then again after a gateway restart, then again after the orchestrator restarted
    too: three records on the outcomes topic, one event id, and one ledger entry that applies
    it; the other two are recorded as duplicates that change nothing."""
    settings = _settings(topics)
    port = free_port()  # the same public URL each time, as the vendor keeps calling it

    async with producer(bootstrap) as p:
        async with running_orchestrator(bootstrap, settings):
            attempt_id = await authorise_an_sms(bootstrap, p, topics, settings)
            async with running_gateway(bootstrap, topics, port) as url:
                first = await post_sms_status(url, attempt_id, "delivered")
            async with running_gateway(bootstrap, topics, port) as url:
                after_gateway_restart = await post_sms_status(url, attempt_id, "delivered")
            await settled(bootstrap, settings, topics)
        async with running_orchestrator(bootstrap, settings):  # seen ids now from the ledger
            async with running_gateway(bootstrap, topics, port) as url:
                after_both_restarted = await post_sms_status(url, attempt_id, "delivered")
            await settled(bootstrap, settings, topics)

    assert first == after_gateway_restart == after_both_restarted == 204
    published = [
        json.loads(r.value)
        for r in await read_topic(bootstrap, topics.outcomes)
        if json.loads(r.value)["producer"] == "gateway"
    ]
    assert len(published) == 3  # the gateway's memory did not survive; the id did
    assert len({e["event_id"] for e in published}) == 1
    entries = await gateway_outcomes_in_ledger(bootstrap, topics)
    assert [e["duplicate"] for e in entries] == [False, True, True]
    assert [e["derived"] for e in entries[1:]] == [[], []]
    assert await restored_outcome(bootstrap, topics, settings, attempt_id) is OutcomeKind.DELIVERED


async def test_delivered_before_sent_leaves_the_attempt_delivered(
    bootstrap: str, topics: Topics
) -> None:
    """Vendors do not promise order: 'delivered' then 'sent' are both recorded, and the attempt
    ends delivered, the furthest state either receipt reported."""
    settings = _settings(topics)

    async with producer(bootstrap) as p, running_orchestrator(bootstrap, settings):
        attempt_id = await authorise_an_sms(bootstrap, p, topics, settings)
        async with running_gateway(bootstrap, topics, free_port()) as url:
            delivered = await post_sms_status(url, attempt_id, "delivered")
            sent = await post_sms_status(url, attempt_id, "sent")
        await settled(bootstrap, settings, topics)

    assert delivered == sent == 204
    entries = await gateway_outcomes_in_ledger(bootstrap, topics)
    assert [(e["event"]["payload"]["outcome"], e["duplicate"]) for e in entries] == [
        ("delivered", False),
        ("accepted", False),
    ]
    assert await restored_outcome(bootstrap, topics, settings, attempt_id) is OutcomeKind.DELIVERED
