"""The embedded broker and topic provisioning behave as the rest of the suite assumes."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from events.topics import Topics
from services.runtime.admin import TopicLayoutError, ensure_topics

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
