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
from datetime import datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contracts import ClockTicked
from events.envelope import derive_id, wrap
from events.partitioning import partition_for
from events.topics import Topics
from services.audit.core.replay import AuditReport
from services.audit.run import run_audit
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
    audit: AuditReport = field(default_factory=AuditReport)


@contextlib.asynccontextmanager
async def broker_for(settings: CommonSettings, log_dir: Path | None = None) -> AsyncIterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else the embedded broker for as long as the block runs."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers
        return
    with EmbeddedBroker(log_path=log_dir / "tansu.log" if log_dir else None) as broker:
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
    stop_rate: float = 0.04,
) -> DemoRun:
    portfolio = generate(borrowers, days=days, seed=seed, stop_rate=stop_rate)
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
                "letters_path": str(out_dir / "letters.jsonl"),
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
                clock,
                orchestrator=orchestrator,
                channels=channels,
                gateway=gateway,
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
        # The demo's own audit is the stronger one: the whole core run again on every entry.
        run.audit = await run_audit(bootstrap, topics, base.partitions, orchestrator, rederive=True)
    return run


class Simulation:
    """Publishes a portfolio's events and clock ticks step by step, and waits for the pipeline
    to settle. Shared by ``parley demo`` and the fault-injection tests."""

    def __init__(
        self,
        portfolio: Portfolio,
        topics: Topics,
        partitions: int,
        producer: AIOKafkaProducer,
        probe: LagProbe,
        sim: VendorSimulator,
        clock: SimClock,
        *,
        groups: tuple[str, str] = ("parley-orchestrator", "parley-channels"),
        sms_from: str = "+18005550111",
    ) -> None:
        self.portfolio, self.topics, self.partitions = portfolio, topics, partitions
        self.producer, self.probe, self.sim, self.clock = producer, probe, sim, clock
        self.groups, self.sms_from = groups, sms_from
        self.keys = clock_keys(partitions)
        self.stops = sorted((b.stop_at, b.mobile) for b in portfolio.borrowers if b.stop_at)
        self.next_event = self.next_stop = 0
        self.upstream_published = self.ticks_published = self.stops_sent = 0

    async def publish_until(self, t: datetime) -> int:
        """Publish every upstream event with occurred_at <= t; returns how many."""
        events, futures = self.portfolio.events, []
        while self.next_event < len(events) and events[self.next_event].at <= t:
            ev = events[self.next_event]
            envelope = wrap(
                ev.message, borrower_id=ev.borrower_id, occurred_at=ev.at, producer="demo-upstream"
            )
            key = ev.borrower_id.encode()
            futures.append(
                await self.producer.send(
                    self.topics.upstream,
                    envelope.model_dump_json().encode(),
                    key=key,
                    partition=partition_for(key, self.partitions),
                )
            )
            self.next_event += 1
        for f in futures:
            await f
        self.upstream_published += len(futures)
        return len(futures)

    async def reply_until(self, t: datetime) -> None:
        """Send every STOP reply due by ``t`` in time order with the upstream events, each
        applied before the events after it: the gateway stamps a reply with the clock, and
        TC-4's five minutes for the confirmation run from then. Applied after a later event had
        moved its partition's clock past it, the reply would find those minutes gone."""
        while self.next_stop < len(self.stops) and self.stops[self.next_stop][0] <= t:
            if await self.publish_until(self.stops[self.next_stop][0]):
                await self.settle()
            await self._reply()
            await self.settle()

    async def _reply(self) -> None:
        # The reply arrives at its own time, not the step's.
        at, number = self.stops[self.next_stop]
        self.clock.advance_to(at)
        await self.sim.send_inbound(number, self.sms_from, "STOP")
        self.stops_sent += 1
        self.next_stop += 1

    async def tick(self, t: datetime) -> None:
        """Advance simulated time: STOP replies due by then not sent yet (``step`` sends them in
        order with the events), then a tick to every partition."""
        while self.next_stop < len(self.stops) and self.stops[self.next_stop][0] <= t:
            await self._reply()
        self.clock.advance_to(t)
        futures = []
        for p, key in self.keys.items():
            tick = wrap(
                ClockTicked(now=t),
                borrower_id=key.decode(),
                occurred_at=t,
                producer="demo-clock",
                event_id=derive_id("tick", str(p), t.isoformat()),
            )
            futures.append(
                await self.producer.send(
                    self.topics.clock, tick.model_dump_json().encode(), key=key, partition=p
                )
            )
        await asyncio.gather(*futures)
        self.ticks_published += len(self.keys)

    async def settle(self, timeout_s: float = 120.0) -> None:
        """Wait until no consumer lags and no vendor callback is pending, twice in a row."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        orchestrator, channels = self.groups
        quiet = 0
        while quiet < 2:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("pipeline did not settle")
            await self.sim.drain()
            t = self.topics
            lag = await self.probe.total_lag(
                {orchestrator: [t.upstream, t.outcomes, t.clock], channels: [*t.tasks, t.clock]},
                self.partitions,
            )
            quiet = quiet + 1 if lag == 0 else 0
            if quiet < 2:
                await asyncio.sleep(0.005 if lag == 0 else 0.02)

    async def step(self, t: datetime) -> None:
        # The previous step ended settled; with no new upstream events there is nothing to wait
        # for before the tick (most night-time steps), so skip that barrier.
        await self.reply_until(t)
        if await self.publish_until(t):
            await self.settle()
        await self.tick(t)
        await self.settle()


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
    simulation = Simulation(
        run.portfolio,
        topics,
        run.partitions,
        producer,
        probe,
        sim,
        clock,
        groups=(orchestrator.group_id, channels.group_id),
        sms_from=channels.sms_from,
    )
    step = timedelta(minutes=step_minutes)
    total = int(timedelta(days=run.portfolio.days) / step)
    for n in range(1, total + 1):
        t = run.portfolio.start + n * step
        await simulation.step(t)
        progress(n, total, t.strftime("%Y-%m-%d %H:%M UTC"))
    run.upstream_published = simulation.upstream_published
    run.ticks_published = simulation.ticks_published
    run.stops_sent = simulation.stops_sent
