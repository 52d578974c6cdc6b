"""The production gateway's directory replays the upstream topic on every start. Until it has
read what the topic held when it started it is not ready, and the gateway does not acknowledge
a STOP it cannot route yet: the opt-out is emitted, or the vendor is told to retry (P6)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import BorrowerProfiled
from contracts.values import Address, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.topics import Topics
from services.gateway.kafka import UpstreamDirectory
from services.gateway.settings import GatewaySettings
from services.gateway.signing import compute_signature
from services.runtime.clock import SimClock
from services.runtime.tansu import free_port
from services.stack import run_services
from tests.support.pipeline import FAST, PARTITIONS, producer, read_topic

pytestmark = pytest.mark.broker

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
TOKEN = "directory-token"
FILLER = 20000  # several fetches (max_records=2000): the replay takes a while


def number(i: int) -> str:
    return f"+1212{i:07d}"


async def publish_profiles(p: AIOKafkaProducer, topics: Topics, count: int) -> None:
    futures = []
    for i in range(count):
        profile = BorrowerProfiled(
            party_id=f"party-{i}",
            name="Ann",
            addresses=(Address(country="US", region="NY", city="Albany"),),
            phones=(Phone(number=number(i), type=PhoneType.MOBILE),),
        )
        envelope = wrap(profile, borrower_id=f"b-{i}", occurred_at=T0, producer="test")
        key = envelope.borrower_id.encode()
        futures.append(
            await p.send(
                topics.upstream,
                envelope.model_dump_json().encode(),
                key=key,
                partition=partition_for(key, PARTITIONS),
            )
        )
    for future in futures:
        await future


async def test_directory_is_ready_only_once_it_knows_everyone_published_before_it_started(
    bootstrap: str, topics: Topics
) -> None:
    """At the first moment it says ready, every profile already on the topic is indexed."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, FILLER)

    directory = UpstreamDirectory(bootstrap, topics, PARTITIONS)
    await directory.start()
    try:
        assert not directory.ready()
        for _ in range(3000):
            if directory.ready():
                break
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("the directory never caught up")
        known = sum(directory.borrower_for_party(f"party-{i}") is not None for i in range(FILLER))
    finally:
        await directory.stop()

    assert known == FILLER


async def test_stop_posted_right_after_a_gateway_start_is_emitted_or_retried_never_lost(
    bootstrap: str, topics: Topics
) -> None:
    """The gateway is posted a known borrower's STOP as soon as it listens, while its directory
    replays. Each answer is either 503 + Retry-After (the vendor redelivers) or 200 with the
    STOP on the outcomes topic; a 200 with nothing emitted is the lost opt-out."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, FILLER)
    last = FILLER - 1  # the last one published: the replay reaches it last in its partition
    settings = GatewaySettings.model_validate(
        {**FAST, "namespace": topics.namespace, "port": free_port(), "vendor_auth_token": TOKEN}
    )
    form = {"MessageSid": "SMrestart", "From": number(last), "To": "12345", "Body": "STOP"}
    statuses: list[int] = []
    async with run_services(
        bootstrap, ("gateway",), SimClock(T0 + timedelta(minutes=1)), gateway=settings
    ) as running:
        url = running.gateway_url
        assert url is not None
        path = "/webhooks/twilio/inbound"
        signature = compute_signature(url + path, list(form.items()), TOKEN)
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(600):  # the vendor retrying, only faster than Retry-After says
                response = await client.post(
                    path, data=form, headers={"X-Twilio-Signature": signature}
                )
                statuses.append(response.status_code)
                if response.status_code != 503:
                    break
                assert int(response.headers["retry-after"]) > 0
                await asyncio.sleep(0.01)

    assert statuses[-1] == 200
    assert set(statuses[:-1]) <= {503}
    inbound = [
        json.loads(r.value)
        for r in await read_topic(bootstrap, topics.outcomes)
        if json.loads(r.value)["type"] == "inbound.sms"
    ]
    assert [(e["borrower_id"], e["payload"]["body"]) for e in inbound] == [(f"b-{last}", "STOP")]
