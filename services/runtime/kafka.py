"""Thin helpers shared by the FastStream shells: publishing batches with pipelined acks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog
from faststream.kafka import KafkaBroker

from events.records import Out
from services.runtime.settings import CommonSettings


def make_broker(settings: CommonSettings, bootstrap: str, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        max_request_size=4 * settings.max_record_bytes,
        logger=structlog.get_logger("faststream"),
        graceful_timeout=15.0,
    )


def consumer_options(settings: CommonSettings) -> dict[str, Any]:
    return {
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_partition_fetch_bytes": 4 * settings.max_record_bytes,
    }


async def publish_all(broker: KafkaBroker, records: Iterable[Out]) -> None:
    """Send every record, then wait for every acknowledgement (acks=all): one round trip per
    batch instead of one per record, and nothing counts as written until all are acked."""
    futures = [
        await broker.publish(r.value, r.topic, key=r.key, partition=r.partition, no_confirm=True)
        for r in records
    ]
    if futures:
        await asyncio.gather(*futures)
