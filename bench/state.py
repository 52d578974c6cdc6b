"""Benchmark: per-borrower state. Memory per borrower, time to restore 100,000 borrowers from
their ledger, and timer-firing lag with 10,000 timers pending. Broker-free (the engine only),
so it measures Parley, not the network. Run: .venv/bin/python bench/state.py
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from contracts import BorrowerProfiled, ConsentGranted, DelinquencyUpdated, LoanOpened, Message
from contracts.values import Address, Channel, Money, Phone
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from services.orchestrator.app import build_engine
from services.orchestrator.engine import Orchestrator
from services.orchestrator.settings import OrchestratorSettings

PARTITIONS = 4
T0 = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 02:00 in New York: contacts asked now are deferred


def engine() -> Orchestrator:
    e = build_engine(OrchestratorSettings(namespace="bench", partitions=PARTITIONS))
    for p in range(PARTITIONS):
        e.assign(p)
    return e


def borrower_events(i: int) -> list[tuple[str, Message]]:
    bid = f"b{i:07d}"
    mobile = f"+1518{2000000 + i % 7000000:07d}"
    usd = Money(amount=Decimal(500), currency="USD")
    return [
        (
            bid,
            BorrowerProfiled(
                party_id=bid,
                name="N",
                addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
                phones=(Phone(number=mobile),),
            ),
        ),
        (bid, ConsentGranted(party_id=bid, channel=Channel.CALL, address=mobile, received_at=T0)),
        (bid, LoanOpened(loan_id=f"L{i}", product="p", principal=usd)),
        (
            bid,
            DelinquencyUpdated(
                loan_id=f"L{i}", days_past_due=1, amount_overdue=usd, as_of=T0.date()
            ),
        ),  # deferred: a timer
    ]


def feed(e: Orchestrator, n: int) -> list[Out]:
    offsets: Counter[int] = Counter()
    ledger: list[Out] = []
    for i in range(n):
        for bid, message in borrower_events(i):
            key = bid.encode()
            p = partition_for(key, PARTITIONS)
            value = (
                wrap(message, borrower_id=bid, occurred_at=T0, producer="b")
                .model_dump_json()
                .encode()
            )
            ledger += e.process(Record("bench.upstream", p, offsets[p], key, value)).ledger
            offsets[p] += 1
    return ledger


def main(restore_n: int, timers_n: int) -> None:
    gc.collect()
    tracemalloc.start()
    e = engine()
    ledger = feed(e, timers_n)
    del ledger
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"memory: {current / timers_n / 1024:.1f} KiB per borrower (profile, consent, loan, one deferred call; {timers_n} borrowers)"
    )

    pending = sum(len(s.timers) for ps in e.states.values() for s in ps.borrowers.values())
    started = time.perf_counter()
    quiet = [e.tick(p, T0 + timedelta(minutes=30)) for p in range(PARTITIONS)]
    idle = time.perf_counter() - started
    started = time.perf_counter()
    fired = [e.tick(p, T0 + timedelta(hours=6)) for p in range(PARTITIONS)]  # 08:00 in New York
    firing = time.perf_counter() - started
    n_fired = sum(len(o.ledger) for o in fired)
    assert not any(o.ledger for o in quiet)
    print(
        f"timers: {pending} pending; a tick with none due takes {idle * 1000:.2f} ms; "
        f"firing {n_fired} due at once takes {firing:.2f} s ({firing / max(n_fired, 1) * 1000:.2f} ms each): "
        f"the last one fires {firing:.2f} s after its due time"
    )

    source = engine()
    ledger = feed(source, restore_n)
    target = engine()
    started = time.perf_counter()
    for out in ledger:
        target.restore(out.partition, out.value)
    restore = time.perf_counter() - started
    print(
        f"restore: {restore_n} borrowers ({len(ledger)} ledger entries) in {restore:.1f} s "
        f"({len(ledger) / restore:.0f} entries/s, one core, broker-free)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restore", type=int, default=100_000)
    parser.add_argument("--timers", type=int, default=10_000)
    args = parser.parse_args()
    main(args.restore, args.timers)
