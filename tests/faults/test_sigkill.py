"""P2 and P3 under crashes: the orchestrator and a channel worker are SIGKILLed in the middle
of a run and restarted. The vendor simulator's and the SMTP server's own counts show that no
attempt reached a vendor twice, and the logs show every upstream event was processed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from events.topics import Topics
from services.channels.simulator.app import VendorSimulator
from services.channels.simulator.config import SimConfig
from services.channels.simulator.server import serve_simulator
from services.channels.smtp_capture import SmtpCapture
from services.gateway.settings import GatewaySettings
from services.runtime.clock import SimClock
from services.runtime.lag import LagProbe
from services.runtime.tansu import free_port
from services.simulation.driver import Simulation
from services.simulation.portfolio import generate
from services.stack import run_services
from tests.support.pipeline import FAST, PARTITIONS, read_topic
from tests.support.processes import ServiceProcess, service_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _vendor_max_per_attempt(stats: dict[str, object]) -> int:
    tokens: Counter[str] = Counter()
    for route in ("messages", "calls"):
        book = stats.get(route)
        if isinstance(book, dict):
            tokens.update(book.get("by_token", {}))
    return max(tokens.values(), default=0)


async def test_sigkill_of_orchestrator_and_worker_sends_nothing_twice_and_loses_nothing(
    bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Two SIGKILLs mid-run; afterwards every attempt reached a vendor at most once and
    every upstream record is in the ledger (or dead-lettered)."""
    portfolio = generate(120, days=5, seed=11)
    clock = SimClock(portfolio.start)
    token, sid = "fault-token", "ACfault"
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    # Vendor latency keeps sends in flight when the kill lands.
    sim = VendorSimulator(
        SimConfig(
            account_sid=sid,
            auth_token=token,
            inbound_url=f"{gateway_url}/webhooks/twilio/inbound",
            latency_ms=15,
        )
    )
    async with serve_simulator(sim) as vendor_url, SmtpCapture() as smtp:
        env = service_env(
            bootstrap=bootstrap,
            namespace=topics.namespace,
            vendor_url=vendor_url,
            sid=sid,
            token=token,
            gateway_url=gateway_url,
            smtp_host=smtp.hostname,
            smtp_port=smtp.port,
        )
        orchestrator = ServiceProcess("orchestrator", env, tmp_path / "orchestrator.log")
        channels = ServiceProcess("channels", env, tmp_path / "channels.log")
        gateway = GatewaySettings.model_validate(
            {
                **FAST,
                "namespace": topics.namespace,
                "port": gateway_port,
                "vendor_auth_token": token,
            }
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        probe = LagProbe(bootstrap)
        await producer.start()
        await probe.start()
        orchestrator.start()
        channels.start()
        try:
            async with run_services(bootstrap, ("gateway",), clock, gateway=gateway):
                simulation = Simulation(portfolio, topics, PARTITIONS, producer, probe, sim, clock)
                steps = int(timedelta(days=portfolio.days) / timedelta(hours=1))
                kills = {steps // 3, (2 * steps) // 3}
                for n in range(1, steps + 1):
                    t = portfolio.start + n * timedelta(hours=1)
                    if n in kills and await simulation.publish_until(t) + 1:
                        await simulation.tick(t)
                        await asyncio.sleep(0.15)  # let them get busy, then kill mid-flight
                        orchestrator.kill()
                        channels.kill()
                        orchestrator.start()
                        channels.start()
                        await simulation.settle(timeout_s=180)
                    else:
                        await simulation.step(t)
        finally:
            orchestrator.stop()
            channels.stop()
            await producer.stop()
            await probe.stop()

        upstream = await read_topic(bootstrap, topics.upstream)
        ledger = [json.loads(r.value) for r in await read_topic(bootstrap, topics.ledger)]
        dead = await read_topic(bootstrap, topics.deadletter)
        outcomes = [json.loads(r.value) for r in await read_topic(bootstrap, topics.outcomes)]

        refs = Counter(
            (e["input"]["topic"], e["input"]["partition"], e["input"]["offset"])
            for e in ledger
            if e["input"]
        )
        applied = set(refs)
        republished = sum(
            json.loads(line).get("tasks_republished", 0)
            for line in (tmp_path / "orchestrator.log").read_text().splitlines()
            if '"partitions_restored"' in line
        )
        unknown = sum(
            1
            for o in outcomes
            if o["type"] == "contact.outcome" and o["payload"]["outcome"] == "outcome_unknown"
        )
        upstream_refs = {(r.topic, r.partition, r.offset) for r in upstream}
        authorised = {
            d["payload"]["attempt_id"]
            for e in ledger
            for d in e["derived"]
            if d["type"] == "contact.decided" and d["payload"]["verdict"] == "authorised"
        }
        started = Counter(
            o["payload"]["attempt_id"] for o in outcomes if o["type"] == "dispatch.started"
        )
        emails = Counter(m.attempt_id for m in smtp.messages)
        vendor_max = _vendor_max_per_attempt(sim.stats())
        print(
            f"\nkills={len(kills)} x2 processes; upstream={len(upstream_refs)} applied={len(upstream_refs & applied)}"
            f" dead={len(dead)} authorised={len(authorised)} dispatch_started={len(started)}"
            f" max_vendor_sends_per_attempt={vendor_max} emails={sum(emails.values())}"
            f" max_emails_per_attempt={max(emails.values(), default=0)}"
            f" tasks_republished_on_restore={republished} outcome_unknown={unknown}"
        )
        assert orchestrator.starts == channels.starts == 1 + len(kills)
        assert upstream_refs <= applied  # P3: every upstream record processed (none were bad)
        assert max(refs.values()) == 1  # each input applied exactly once, across both crashes
        assert not dead
        assert vendor_max == 1  # P2, by the vendor's own count
        assert max(emails.values(), default=0) == 1  # P2, by the SMTP server's own count
        assert set(started) <= authorised  # P1: nothing reached a vendor without authorisation
        assert len(started) > 50  # the run really sent things
