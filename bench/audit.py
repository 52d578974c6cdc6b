"""Benchmark: `parley audit` events/s against the broker's raw consume rate, same run, same log.

A 30-day ledger is made with the real engine (no broker), written to a fresh namespace, then
(a) read back raw with aiokafka (getmany, no processing), and (b) audited as `parley audit` does
by default (every decision re-proved by the gate) and (c) as `parley audit --rederive` does (the
whole decision core run again on every entry). The audits use as many processes as
`parley audit` would (one per core, as the ledger warrants) unless --processes says otherwise.
Every measurement is taken --rounds times, alternating, and the median reported: on a shared
2-vCPU machine a single sub-second read swings by a third from run to run.
Run: .venv/bin/python bench/audit.py [--borrowers N] [--processes N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from events.topics import Topics
from services.audit.run import run_audit
from services.audit.shards import available_cores, processes_to_use, start_method
from services.compliance.core.registry import policy_document
from services.orchestrator.app import build_engine
from services.orchestrator.engine import Emitted
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.admin import ensure_topics
from services.runtime.settings import CommonSettings
from services.runtime.tansu import EmbeddedBroker
from services.simulation.portfolio import generate

PARTITIONS = 4


def make_ledger(settings: OrchestratorSettings, borrowers: int) -> list[Out]:
    engine = build_engine(settings)
    for p in range(PARTITIONS):
        engine.assign(p)
    portfolio = generate(borrowers, days=30, seed=2)
    offsets: Counter[int] = Counter()
    out = Emitted()
    events = iter(portfolio.events)
    pending = next(events, None)
    t = portfolio.start
    while t < portfolio.start + timedelta(days=30):
        t += timedelta(hours=1)
        while pending is not None and pending.at <= t:
            key = pending.borrower_id.encode()
            p = partition_for(key, PARTITIONS)
            value = wrap(
                pending.message,
                borrower_id=pending.borrower_id,
                occurred_at=pending.at,
                producer="b",
            )
            out.extend(
                engine.process(
                    Record(
                        f"{settings.namespace}.upstream",
                        p,
                        offsets[p],
                        key,
                        value.model_dump_json().encode(),
                    )
                )
            )
            offsets[p] += 1
            pending = next(events, None)
        for p in range(PARTITIONS):
            out.extend(engine.tick(p, t))
    version = engine.ctx.policy.version
    doc = json.dumps(policy_document(engine.ctx.policy)).encode()
    return [
        *out.ledger,
        Out(
            Topics(settings.namespace).policies,
            partition_for(version.encode(), PARTITIONS),
            version.encode(),
            doc,
        ),
    ]


async def write(bootstrap: str, records: list[Out]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=8 << 20
    )
    await producer.start()
    try:
        for i in range(0, len(records), 2000):
            futures = [
                await producer.send(r.topic, r.value, key=r.key, partition=r.partition)
                for r in records[i : i + 2000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    started, seen = time.perf_counter(), 0
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(v) for v in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def main(borrowers: int, processes: int | None, rounds: int) -> None:
    base = CommonSettings()
    broker = None if base.kafka_bootstrap_servers else EmbeddedBroker()
    bootstrap = base.kafka_bootstrap_servers or broker.start()  # type: ignore[union-attr]
    try:
        settings = OrchestratorSettings.model_validate(
            {"namespace": f"benchaudit{uuid.uuid4().hex[:6]}", "partitions": PARTITIONS}
        )
        topics = Topics(settings.namespace)
        await ensure_topics(bootstrap, topics, PARTITIONS)
        records = make_ledger(settings, borrowers)
        await write(bootstrap, records)
        n = len(records) - 1
        method = start_method()  # as the first audit will find it
        raw: list[float] = []
        reprove: list[float] = []
        rederive: list[float] = []
        ok = True
        for _ in range(rounds):
            raw.append(await raw_consume(bootstrap, topics.ledger, n))
            for depth, times in ((False, reprove), (True, rederive)):
                started = time.perf_counter()
                report = await run_audit(
                    bootstrap, topics, PARTITIONS, settings, processes=processes, rederive=depth
                )
                times.append(time.perf_counter() - started)
                ok = ok and report.ok
        raw_s, reprove_s, rederive_s = (statistics.median(t) for t in (raw, reprove, rederive))
        print(f"ledger: {n} entries from {borrowers} borrowers over 30 days; audits ok={ok}")
        used = processes_to_use(n, PARTITIONS, available_cores(), method, processes)
        print(
            f"audit processes: {used}, {method}ed ({available_cores()} cores);"
            f" median of {rounds} rounds"
        )
        print(
            f"(a) raw consume of the ledger:           {n / raw_s:8.0f} entries/s ({raw_s:.2f} s)"
        )
        print(
            f"(b) parley audit (re-prove decisions):   {n / reprove_s:8.0f} entries/s"
            f" ({reprove_s:.2f} s)   ratio b/a = {raw_s / reprove_s:.3f}   (goal >= 0.25)"
        )
        print(
            f"(c) parley audit --rederive (whole core): {n / rederive_s:7.0f} entries/s"
            f" ({rederive_s:.2f} s)   ratio c/a = {raw_s / rederive_s:.3f}"
        )
        print("raw rounds (s):", " ".join(f"{t:.2f}" for t in raw))
        print("re-prove rounds (s):", " ".join(f"{t:.2f}" for t in reprove))
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.borrowers, args.processes, args.rounds))
