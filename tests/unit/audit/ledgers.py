"""Ledgers made in memory by the real engine (no broker), and the auditor run over them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    InboundMessageReceived,
    LoanOpened,
    Message,
)
from contracts.values import Address, Channel, Email, Money, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from services.audit.core.entry import read_entry
from services.audit.core.replay import Auditor, Rederive
from services.orchestrator.app import build_engine
from services.orchestrator.context import context_factory
from services.orchestrator.engine import Orchestrator
from services.orchestrator.settings import OrchestratorSettings
from services.simulation.portfolio import generate

PARTITIONS = 4
NS = "audit"
UPSTREAM = f"{NS}.upstream"
OUTCOMES = f"{NS}.outcomes"
SETTINGS = OrchestratorSettings(namespace=NS, partitions=PARTITIONS)


def _engine() -> Orchestrator:
    engine = build_engine(SETTINGS)
    for p in range(PARTITIONS):
        engine.assign(p)
    return engine


@dataclass
class Ledger:
    """An engine fed records by hand; ``entries`` is its ledger, in the order it wrote it."""

    engine: Orchestrator = field(default_factory=_engine)
    entries: list[Out] = field(default_factory=list)
    offsets: Counter[tuple[str, int]] = field(default_factory=Counter)

    def send(self, borrower: str, message: Message, at: datetime, topic: str = UPSTREAM) -> None:
        key = borrower.encode()
        partition = partition_for(key, PARTITIONS)
        value = wrap(message, borrower_id=borrower, occurred_at=at, producer="test")
        offset = self.offsets[(topic, partition)]
        self.offsets[(topic, partition)] += 1
        out = self.engine.process(
            Record(topic, partition, offset, key, value.model_dump_json().encode())
        )
        assert not out.deadletters, out.deadletters
        self.entries += out.ledger

    def tick(self, at: datetime) -> None:
        for p in range(PARTITIONS):
            self.entries += self.engine.tick(p, at).ledger


# -- one borrower in Albany NY, with consent to texts at MOBILE ----------------------------------

B = "b1"
MOBILE = "+15185550147"  # 518: Albany (a 212 number would bring the NYC rules, RF-7)
NOON_NY = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)  # Monday 12:00 EDT


def ny_borrower(at: datetime = NOON_NY) -> Ledger:
    ledger = Ledger()
    day_before = at - timedelta(days=1)
    ledger.send(
        B,
        BorrowerProfiled(
            party_id=B,
            name="Ann",
            addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
            phones=(Phone(number=MOBILE, type=PhoneType.MOBILE),),
            emails=(Email(address="ann@mail.example"),),
        ),
        day_before,
    )
    ledger.send(
        B,
        ConsentGranted(party_id=B, channel=Channel.SMS, address=MOBILE, received_at=day_before),
        day_before,
    )
    ledger.send(
        B,
        LoanOpened(
            loan_id="L1",
            product="p",
            principal=Money(amount=Decimal(500), currency="USD"),
            third_party_collector=False,
        ),
        day_before,
    )
    return ledger


def reply_from(
    ledger: Ledger, number: str, body: str, received_at: datetime, processed_at: datetime
) -> None:
    """A text from ``number`` to the borrower's lender, applied by the orchestrator at
    ``processed_at``."""
    reply = InboundMessageReceived(
        from_number=number,
        to_number="+18005550111",
        body=body,
        vendor="v",
        external_id=f"SM{len(ledger.entries)}",
        received_at=received_at,
    )
    ledger.send(B, reply, processed_at, topic=OUTCOMES)


def portfolio(borrowers: int, days: int, seed: int = 4) -> Ledger:
    """A synthetic portfolio run hour by hour through the engine, as the benchmark does."""
    ledger = Ledger()
    made = generate(borrowers, days=days, seed=seed)
    pending = sorted(made.events, key=lambda e: e.at)
    t, i = made.start, 0
    while t < made.start + timedelta(days=days):
        t += timedelta(hours=1)
        while i < len(pending) and pending[i].at <= t:
            ledger.send(pending[i].borrower_id, pending[i].message, pending[i].at)
            i += 1
        ledger.tick(t)
    return ledger


def audit(
    ledger: Ledger, entries: Iterable[Out] | None = None, *, rederive: bool = False
) -> Auditor:
    """Fold ``entries`` (the whole ledger by default) through a fresh auditor, which re-proves
    every decision, and with ``rederive`` also runs the whole decision core again."""
    policy = ledger.engine.ctx.policy
    again = Rederive(*context_factory(SETTINGS)) if rederive else None
    auditor = Auditor({policy.version: policy}, None, PARTITIONS, rederive=again)
    for out in ledger.entries if entries is None else entries:
        auditor.entry(read_entry(out.value), partition=out.partition)
    auditor.close()
    return auditor


def edited(out: Out, edit: Any) -> Out:
    """The same ledger record with its JSON changed by ``edit`` (a function of the dict)."""
    doc = json.loads(out.value)
    edit(doc)
    return Out(out.topic, out.partition, out.key, json.dumps(doc).encode())
