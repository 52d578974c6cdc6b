"""`parley demo`: drive a synthetic portfolio through the real pipeline in simulated time.

Simulated time advances in steps. Each step publishes the upstream events that fall in it,
publishes a clock tick to every partition, then waits until everything in flight has settled
(no consumer lag, no vendor callback pending), so 30 days run in minutes yet every decision
sees the same history it would in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contracts import ClockTicked
from events.envelope import derive_id, wrap
from events.partitioning import partition_for
from events.topics import Topics
from services.channels.settings import ChannelSettings
from services.channels.simulator.app import VendorSimulator
from services.channels.simulator.config import SimConfig
from services.channels.simulator.server import serve_simulator
from services.channels.smtp_capture import SmtpCapture
from services.gateway.settings import GatewaySettings
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.admin import ensure_topics
from services.runtime.clock import SimClock
from services.runtime.lag import LagProbe
from services.runtime.settings import CommonSettings
from services.runtime.tansu import EmbeddedBroker, free_port
from services.simulation.clockkeys import clock_keys
from services.simulation.portfolio import Portfolio, generate
from services.simulation.report import Stats, collect
from services.stack import run_services

Progress = Callable[[int, int, str], None]


@dataclass
class DemoRun:
    bootstrap: str
    namespace: str
    partitions: int
    portfolio: Portfolio
    started: float
    finished: float = 0.0
    upstream_published: int = 0
    ticks_published: int = 0
    stops_sent: int = 0
    vendor_stats: dict[str, object] = field(default_factory=dict)
    emails_captured: int = 0
    emails_per_attempt_max: int = 0
    stats: Stats = field(default_factory=Stats)


@contextlib.asynccontextmanager
async def broker_for(settings: CommonSettings, log_dir: Path) -> AsyncIterator[str]:
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers
        return
    with EmbeddedBroker(log_path=log_dir / "tansu.log") as broker:
        yield broker.bootstrap_servers


async def run_demo(
    *,
    borrowers: int,
    days: int,
    seed: int,
    step_minutes: int,
    out_dir: Path,
    progress: Progress,
    base: CommonSettings,
) -> DemoRun:
    portfolio = generate(borrowers, days=days, seed=seed)
    namespace = f"demo{int(time.time())}"
    common: dict[str, object] = {
        "namespace": namespace,
        "partitions": base.partitions,
        "clock": "topic",
        "session_timeout_ms": 2000,  # tansu join = session/2 (broker.md)
        "heartbeat_interval_ms": 500,
        "fetch_max_wait_ms": 5,
        "batch_timeout_ms": 5,
        "log_format": base.log_format,
        "log_level": base.log_level,
    }
    clock = SimClock(portfolio.start)
    token, sid = "demo-auth-token", "ACdemo"
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    sim = VendorSimulator(
        SimConfig(
            account_sid=sid,
            auth_token=token,
            inbound_url=f"{gateway_url}/webhooks/twilio/inbound",
            callback_delay_s=0.0,
        )
    )
    async with (
        broker_for(base, out_dir) as bootstrap,
        serve_simulator(sim) as vendor_url,
        SmtpCapture() as smtp,
    ):
        topics = Topics(namespace)
        await ensure_topics(bootstrap, topics, base.partitions)
        run = DemoRun(bootstrap, namespace, base.partitions, portfolio, time.perf_counter())
        channels = ChannelSettings.model_validate(
            {
                **common,
                "vendor_base_url": vendor_url,
                "vendor_account_sid": sid,
                "vendor_auth_token": token,
                "callback_base_url": gateway_url,
                "smtp_host": smtp.hostname,
                "smtp_port": smtp.port,
            }
        )
        gateway = GatewaySettings.model_validate(
            {**common, "port": gateway_port, "vendor_auth_token": token}
        )
        orchestrator = OrchestratorSettings.model_validate(common)
        probe = LagProbe(bootstrap)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await probe.start()
        await producer.start()
        try:
            async with run_services(
                bootstrap,
                ("orchestrator", "channels", "gateway"),
                orchestrator,
                channels,
                gateway,
                clock,
            ):
                await _drive(
                    run,
                    topics,
                    producer,
                    probe,
                    sim,
                    clock,
                    channels,
                    orchestrator,
                    step_minutes,
                    progress,
                )
        finally:
            await producer.stop()
            await probe.stop()
        run.vendor_stats = sim.stats()
        run.emails_captured = len(smtp.messages)
        per_attempt: dict[str, int] = {}
        for m in smtp.messages:
            if m.attempt_id:
                per_attempt[m.attempt_id] = per_attempt.get(m.attempt_id, 0) + 1
        run.emails_per_attempt_max = max(per_attempt.values(), default=0)
        run.finished = time.perf_counter()
        run.stats = await collect(bootstrap, topics, base.partitions)  # before the broker stops
    return run


async def _drive(
    run: DemoRun,
    topics: Topics,
    producer: AIOKafkaProducer,
    probe: LagProbe,
    sim: VendorSimulator,
    clock: SimClock,
    channels: ChannelSettings,
    orchestrator: OrchestratorSettings,
    step_minutes: int,
    progress: Progress,
) -> None:
    portfolio, partitions = run.portfolio, run.partitions
    keys = clock_keys(partitions)
    events = portfolio.events
    stops = sorted((b.stop_at, b.mobile) for b in portfolio.borrowers if b.stop_at)
    step = timedelta(minutes=step_minutes)
    end = portfolio.start + timedelta(days=portfolio.days)
    total_steps = int((end - portfolio.start) / step)
    i = s = 0
    t = portfolio.start
    for n in range(1, total_steps + 1):
        t = portfolio.start + n * step
        futures = []
        while i < len(events) and events[i].at <= t:
            ev = events[i]
            envelope = wrap(
                ev.message, borrower_id=ev.borrower_id, occurred_at=ev.at, producer="demo-upstream"
            )
            key = ev.borrower_id.encode()
            futures.append(
                await producer.send(
                    topics.upstream,
                    envelope.model_dump_json().encode(),
                    key=key,
                    partition=partition_for(key, partitions),
                )
            )
            i += 1
        for f in futures:
            await f
        run.upstream_published += len(futures)
        await _settle(probe, sim, topics, channels, orchestrator, partitions)
        clock.advance_to(t)
        while s < len(stops) and stops[s][0] <= t:
            await sim.send_inbound(stops[s][1], channels.sms_from, "STOP")  # a person replies STOP
            run.stops_sent += 1
            s += 1
        for p, key in keys.items():
            tick = wrap(
                ClockTicked(now=t),
                borrower_id=key.decode(),
                occurred_at=t,
                producer="demo-clock",
                event_id=derive_id("tick", str(p), t.isoformat()),
            )
            await producer.send_and_wait(
                topics.clock, tick.model_dump_json().encode(), key=key, partition=p
            )
        run.ticks_published += len(keys)
        await _settle(probe, sim, topics, channels, orchestrator, partitions)
        progress(n, total_steps, t.strftime("%Y-%m-%d %H:%M UTC"))


async def _settle(
    probe: LagProbe,
    sim: VendorSimulator,
    topics: Topics,
    channels: ChannelSettings,
    orchestrator: OrchestratorSettings,
    partitions: int,
) -> None:
    """Wait until no consumer lags and no vendor callback is pending, twice in a row."""
    quiet = 0
    while quiet < 2:
        await sim.drain()
        lag = await probe.lag(
            orchestrator.group_id, [topics.upstream, topics.outcomes, topics.clock], partitions
        )
        lag += await probe.lag(channels.group_id, [*topics.tasks, topics.clock], partitions)
        quiet = quiet + 1 if lag == 0 else 0
        if quiet < 2:
            await asyncio.sleep(0.005 if lag == 0 else 0.02)
