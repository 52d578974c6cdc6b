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

from events.topics import Topics
from services.simulation.portfolio import generate
from tests.support.pipeline import read_topic
from tests.support.rig import simulated_rig

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
    # Vendor latency keeps sends in flight when the kill lands.
    async with simulated_rig(bootstrap, topics, portfolio, tmp_path, latency_ms=15) as rig:
        sim, smtp, simulation = rig.sim, rig.smtp, rig.simulation
        orchestrator = rig.process("orchestrator", "orchestrator.log")
        channels = rig.process("channels", "channels.log")
        orchestrator.start()
        channels.start()
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
        rig.stop_processes()

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
