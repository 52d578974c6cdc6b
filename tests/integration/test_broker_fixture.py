"""The embedded broker and topic provisioning behave as the rest of the suite assumes."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from events.topics import Topics
from services.runtime.admin import TopicLayoutError, ensure_topics
from services.runtime.logreader import read_all

pytestmark = pytest.mark.broker


async def test_provisioning_creates_every_topic_co_partitioned(
    bootstrap: str, topics: Topics
) -> None:
    """Every topic of the table exists with the same partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics.all()))
    finally:
        await admin.close()

    assert sorted(t["topic"] for t in described) == sorted(topics.all())
    assert {len(t["partitions"]) for t in described} == {4}


async def test_provisioning_is_idempotent_and_refuses_a_different_partition_count(
    bootstrap: str, topics: Topics
) -> None:
    """Re-running is a no-op; asking for another count is an error, not a silent mismatch."""
    assert await ensure_topics(bootstrap, topics, 4) == []

    with pytest.raises(TopicLayoutError, match="expected 8"):
        await ensure_topics(bootstrap, topics, 8)


async def test_reading_to_the_end_gets_every_record_of_a_multi_record_batch(
    bootstrap: str, topics: Topics
) -> None:
    """tansu reports the last batch's base offset + 1 as the end (docs/decisions/0005); the
    log reader still returns every record, so a restore never misses a ledger entry."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(topics.ledger, b"entry-%d" % i, key=b"b1", partition=0)
            for i in range(3)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    values = [r.value async for r in read_all(bootstrap, topics.ledger, {0})]

    assert values == [b"entry-0", b"entry-1", b"entry-2"]
