"""Topic provisioning from the one topic table, and the co-partitioning check."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from events.topics import SPECS, Topics


class TopicLayoutError(RuntimeError):
    pass


async def existing_topics(bootstrap: str) -> set[str]:
    """The names of the topics the broker has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, topics: Topics, partitions: int) -> list[str]:
    """Create missing topics; fail if an existing one has a different partition count
    (that would break the one-owner-per-borrower invariant)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    created: list[str] = []
    try:
        wanted = [
            NewTopic(
                topics.name(spec.role),
                num_partitions=partitions,
                replication_factor=1,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            for spec in SPECS
        ]
        for topic in wanted:
            try:
                resp = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue
            for name, code, *_ in getattr(resp, "topic_errors", []):
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    raise TopicLayoutError(f"creating {name}: error code {code}")
        described = await admin.describe_topics(list(topics.all()))
        for t in described:
            count = len(t["partitions"])
            if count != partitions:
                raise TopicLayoutError(
                    f"topic {t['topic']} has {count} partitions, expected {partitions}; "
                    "all borrower topics must be co-partitioned"
                )
    finally:
        await admin.close()
    return created
