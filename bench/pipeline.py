"""Benchmark: the orchestrator against the raw ceiling of this stack, on the same broker and input.

(a) raw aiokafka loop: getmany -> decode + validate the contract -> produce one record per
    input -> await the batch's acks -> commit (broker.md case (d));
(b) the orchestrator (FastStream, ledger, gate, tasks) consuming the same events.
Prints events/s of each and the ratio b/a. Run: .venv/bin/python bench/pipeline.py [--borrowers N]
Uses KAFKA_BOOTSTRAP_SERVERS if set, else starts the embedded tansu broker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events.envelope import wrap
from events.partitioning import partition_for
from events.serialization import decode
from events.topics import Topics
from services.orchestrator.app import create_app
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.admin import ensure_topics
from services.runtime.lag import LagProbe
from services.runtime.settings import CommonSettings
from services.runtime.tansu import EmbeddedBroker
from services.simulation.portfolio import generate

PARTITIONS = 4


async def preload(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        for i in range(0, len(values), 1000):
            futures = [
                await producer.send(topic, v, key=k, partition=partition_for(k, PARTITIONS))
                for k, v in values[i : i + 1000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_loop(bootstrap: str, source: str, sink: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=5,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    await consumer.start()
    done = 0
    started = time.perf_counter()
    try:
        while done < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            futures = []
            for tp, records in batch.items():
                for r in records:
                    decoded = decode(r.value, r.key)
                    out = decoded.envelope.model_dump_json().encode()
                    futures.append(
                        await producer.send(sink, out, key=r.key, partition=tp.partition)
                    )
                    done += 1
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def orchestrator(bootstrap: str, topics: Topics, n: int) -> float:
    settings = OrchestratorSettings.model_validate(
        {
            "namespace": topics.namespace,
            "partitions": PARTITIONS,
            "clock": "topic",  # no ticks: decisions on event time only, as the raw loop has no timers
            "session_timeout_ms": 2000,
            "heartbeat_interval_ms": 500,
            "fetch_max_wait_ms": 5,
            "batch_timeout_ms": 5,
            "batch_max_records": 1000,
            "log_level": "warning",
        }
    )
    app = create_app(settings, bootstrap)
    probe = LagProbe(bootstrap)
    await probe.start()
    await app.start()  # returns once the group has assigned partitions (state restored: empty)
    started = time.perf_counter()
    try:
        # Polling lag is the measurement itself; there is no event to wait on.
        while await probe.lag(settings.group_id, [topics.upstream], PARTITIONS) > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return time.perf_counter() - started
    finally:
        await app.stop()
        await probe.stop()


async def main(borrowers: int) -> None:
    base = CommonSettings()
    broker = None
    bootstrap = base.kafka_bootstrap_servers
    if not bootstrap:
        broker = EmbeddedBroker()
        bootstrap = broker.start()
    try:
        portfolio = generate(borrowers, days=30, seed=1)
        values = [
            (
                s.borrower_id.encode(),
                wrap(s.message, borrower_id=s.borrower_id, occurred_at=s.at, producer="bench")
                .model_dump_json()
                .encode(),
            )
            for s in portfolio.events
        ]
        n = len(values)
        raw_topics = Topics(f"benchraw{uuid.uuid4().hex[:6]}")
        orch_topics = Topics(f"benchorch{uuid.uuid4().hex[:6]}")
        await ensure_topics(bootstrap, raw_topics, PARTITIONS)
        await ensure_topics(bootstrap, orch_topics, PARTITIONS)
        await preload(bootstrap, raw_topics.upstream, values)
        await preload(bootstrap, orch_topics.upstream, values)
        raw_s = await raw_loop(bootstrap, raw_topics.upstream, raw_topics.ledger, n)
        orch_s = await orchestrator(bootstrap, orch_topics, n)
        raw_rate, orch_rate = n / raw_s, n / orch_s
        print(
            f"input: {n} upstream events from {borrowers} borrowers, {PARTITIONS} partitions, broker {bootstrap}"
        )
        print(
            f"(a) raw aiokafka consume->validate->produce, batched acks: {raw_rate:10.0f} events/s ({raw_s:.2f} s)"
        )
        print(
            f"(b) orchestrator (ledger + gate + tasks, FastStream):     {orch_rate:10.0f} events/s ({orch_s:.2f} s)"
        )
        print(f"ratio b/a = {orch_rate / raw_rate:.3f}   (goal >= 0.5)")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=1500)
    asyncio.run(main(parser.parse_args().borrowers))
