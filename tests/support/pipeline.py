"""Helpers for tests on the real broker: start services in-process, wait, read topics back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord

from events.envelope import Envelope
from events.partitioning import partition_for
from events.topics import Topics
from services.orchestrator.app import create_app
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.lag import LagProbe
from services.runtime.logreader import read_all

PARTITIONS = 4
FAST = {
    "partitions": PARTITIONS,
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 500,
    "fetch_max_wait_ms": 5,
    "batch_timeout_ms": 5,
}


def orchestrator_settings(topics: Topics, **overrides: Any) -> OrchestratorSettings:
    return OrchestratorSettings.model_validate({**FAST, "namespace": topics.namespace, **overrides})


@contextlib.asynccontextmanager
async def running_orchestrator(
    bootstrap: str, settings: OrchestratorSettings
) -> AsyncIterator[None]:
    app = create_app(settings, bootstrap)
    await app.start()
    try:
        yield
    finally:
        await app.stop()


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def send_envelope(p: AIOKafkaProducer, topic: str, envelope: Envelope) -> None:
    await send_record(p, topic, envelope.borrower_id, envelope.model_dump_json().encode())


async def send_record(p: AIOKafkaProducer, topic: str, borrower_id: str, value: bytes) -> None:
    """``value`` on the borrower's partition of ``topic``, as every Parley topic keys it."""
    key = borrower_id.encode()
    await p.send_and_wait(topic, value, key=key, partition=partition_for(key, PARTITIONS))


async def wait_settled(
    bootstrap: str, group: str, topics: list[str], timeout_s: float = 60.0
) -> None:
    probe = LagProbe(bootstrap)
    await probe.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet = 0
        while quiet < 3:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"group {group} still lagging")
            quiet = quiet + 1 if await probe.lag(group, topics, PARTITIONS) == 0 else 0
            await asyncio.sleep(0.05)
    finally:
        await probe.stop()


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    return [r async for r in read_all(bootstrap, topic, set(range(PARTITIONS)))]
