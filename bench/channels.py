"""Benchmark: one channel worker's sends/s against a vendor with 50 ms latency, compared with the
bound max_in_flight / latency. Real HTTP to the vendor simulator on loopback; the worker's own
dispatch records go to an in-memory list (this measures the worker and adapter, not Kafka).
Run: .venv/bin/python bench/channels.py [--tasks N] [--in-flight K] [--latency-ms L]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from contracts.tasks import SendSms
from contracts.values import Channel, Purpose
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from events.topics import Role, Topics
from services.channels.adapters.twilio_sms import TwilioSms
from services.channels.engine import Dispatcher
from services.channels.simulator.app import VendorSimulator
from services.channels.simulator.config import SimConfig
from services.channels.simulator.server import serve_simulator
from services.runtime.clock import WallClock

PARTITIONS = 4


async def main(tasks: int, in_flight: int, latency_ms: int) -> None:
    sim = VendorSimulator(
        SimConfig(
            account_sid="ACbench", auth_token="t", latency_ms=latency_ms, callbacks_enabled=False
        )
    )
    topics = Topics("benchch")
    now = datetime.now(UTC)
    records = []
    for i in range(tasks):
        bid = f"b{i % (tasks // 2 or 1):06d}"  # two tasks per borrower: their order must be kept
        task = SendSms(
            attempt_id=f"a{i:07d}",
            party_id=bid,
            loan_id="L1",
            purpose=Purpose.COLLECTION,
            authorised_at=now,
            not_after=now + timedelta(hours=1),
            to="+15185550147",
            body="hello. Reply STOP to opt out.",
        )
        key = bid.encode()
        value = (
            wrap(task, borrower_id=bid, occurred_at=now, producer="bench")
            .model_dump_json()
            .encode()
        )
        records.append(
            Record(topics.name(Role.TASKS_SMS), partition_for(key, PARTITIONS), i, key, value)
        )
    written: list[Out] = []

    async def publish(out: Sequence[Out]) -> None:
        written.extend(out)

    async with serve_simulator(sim) as url:
        adapter = TwilioSms(
            base_url=url,
            account_sid="ACbench",
            auth_token="t",
            from_number="+18005550111",
            callback_base_url="http://127.0.0.1:9",
        )
        dispatcher = Dispatcher(
            topics, {Channel.SMS: adapter}, WallClock(), max_in_flight=in_flight
        )
        for p in range(PARTITIONS):
            dispatcher.assign(p)
        started = time.perf_counter()
        for i in range(0, len(records), 500):  # batches as the consumer would hand them over
            await dispatcher.dispatch(records[i : i + 500], publish)
        seconds = time.perf_counter() - started
        await adapter.aclose()
    accepted = sim.stats()["messages"]["accepted"]
    bound = in_flight / (latency_ms / 1000)
    print(
        f"{tasks} SMS tasks, {in_flight} in flight, vendor latency {latency_ms} ms: {accepted} accepted"
    )
    print(
        f"worker: {tasks / seconds:8.1f} sends/s   bound (in-flight / latency): {bound:8.1f}   ratio {tasks / seconds / bound:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--latency-ms", type=int, default=50)
    a = parser.parse_args()
    asyncio.run(main(a.tasks, a.in_flight, a.latency_ms))
