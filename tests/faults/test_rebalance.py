"""Durable state and timers across rebalances: two orchestrator processes share a portfolio in
one consumer group; one is SIGKILLed, later a third joins. Afterwards no timer was lost or
fired twice, no input applied twice, nothing sent twice, and the audit finds no violation."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from events.topics import Topics
from services.audit.run import run_audit
from services.simulation.portfolio import generate
from tests.support.pipeline import PARTITIONS, orchestrator_settings, read_topic
from tests.support.rig import simulated_rig

pytestmark = [pytest.mark.broker, pytest.mark.slow]


async def test_two_orchestrators_a_kill_and_a_join_lose_no_timer(
    bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Every scheduled timer is fired once, withdrawn, or still pending; nothing happens twice."""
    portfolio = generate(150, days=6, seed=21)
    async with simulated_rig(bootstrap, topics, portfolio, tmp_path) as rig:
        sim, smtp, simulation = rig.sim, rig.smtp, rig.simulation
        first = rig.process("orchestrator", "orchestrator-1.log")
        second = rig.process("orchestrator", "orchestrator-2.log")
        third = rig.process("orchestrator", "orchestrator-3.log")
        channels = rig.process("channels", "channels.log")
        for p in (first, second, channels):
            p.start()
        steps = int(timedelta(days=portfolio.days) / timedelta(hours=1))
        for n in range(1, steps + 1):
            t = portfolio.start + n * timedelta(hours=1)
            await simulation.publish_until(t)
            if n == steps // 3:
                first.kill()  # mid-flight: its partitions move to the second
            if n == (2 * steps) // 3:
                third.start()  # a rebalance while work is in flight
            await simulation.settle(timeout_s=180)
            await simulation.tick(t)
            await simulation.settle(timeout_s=180)
        rig.stop_processes()
        end = portfolio.start + timedelta(days=portfolio.days)

        ledger = [json.loads(r.value) for r in await read_topic(bootstrap, topics.ledger)]
        upstream = await read_topic(bootstrap, topics.upstream)
        derived = [d for e in ledger for d in e["derived"]]
        scheduled = {
            d["payload"]["timer_id"]: d["payload"]
            for d in derived
            if d["type"] == "timer.scheduled"
        }
        fired = Counter(d["payload"]["timer_id"] for d in derived if d["type"] == "timer.fired")
        dropped = {
            d["payload"]["attempt_id"] for d in derived if d["type"] == "contact.intent_dropped"
        }
        refs = Counter(
            (e["input"]["topic"], e["input"]["partition"], e["input"]["offset"])
            for e in ledger
            if e["input"]
        )
        lost = [
            t
            for tid, t in scheduled.items()
            if not fired[tid]
            and t["intent"]["attempt_id"] not in dropped
            and t["due_at"] < end.isoformat().replace("+00:00", "Z")
        ]
        vendor: Counter[str] = Counter()
        for route in ("messages", "calls"):
            vendor.update(sim.stats()[route]["by_token"])
        emails = Counter(m.attempt_id for m in smtp.messages)
        report = await run_audit(bootstrap, topics, PARTITIONS, orchestrator_settings(topics))
        print(
            f"\ntimers scheduled={len(scheduled)} fired={sum(fired.values())} lost={len(lost)}"
            f" inputs={len(upstream)} applied={len(refs)} max_applied={max(refs.values())}"
            f" sends={sum(vendor.values())} max_per_attempt={max(vendor.values())} emails={sum(emails.values())}"
            f" audit_ok={report.ok} entries={report.entries} findings={len(report.findings)}"
        )
        assert len(scheduled) > 100
        assert lost == []
        assert max(fired.values()) == 1
        assert max(refs.values()) == 1
        assert {(r.topic, r.partition, r.offset) for r in upstream} <= set(refs)
        assert max(vendor.values()) == 1
        assert max(emails.values()) == 1
        assert report.ok, report.findings[:5]
