"""Benchmark: decisions per second of the pure compliance gate on one core.

Each person has 30 days of history (about 2-3 attempts a day across call, SMS and email, mixed
outcomes, two debts) and a small consent ledger; intents are spread over the day so all three
verdicts occur. Every round decides the same inputs, as repeated decisions at the same instants
reuse what the gate remembers; ``--fresh`` decides new people at new instants in each round (the
plans stay compiled). Run: .venv/bin/python bench/gate.py [--people N] [--rounds R] [--fresh]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, Email, PartyRole, Phone, PhoneType, Purpose
from services.compliance.core import (
    AttemptRecord,
    ConsentRecord,
    ContactIntent,
    DebtFacts,
    GateInput,
    PartyFacts,
    evaluate,
    load_policy,
)

PROFILES = [
    (
        (Address(country="US", region="NY", city="Albany", postal_code="12207"),),
        ("+15185550100", "+14155550100"),
    ),
    ((Address(country="US", region="MA", city="Boston"),), ("+16175550100",)),
    ((Address(country="US", region="NY", city="New York"),), ("+12125550100",)),
    ((Address(country="US", region="WA", city="Seattle"),), ("+12065550100",)),
    ((Address(country="US", region="TX", city="Austin"),), ("+15125550100",)),
    ((Address(country="CN", region="SH", city="Shanghai"),), ("+8613800138000",)),
    ((Address(country="GB", city="London"),), ("+447911123456",)),
]
OUTCOMES = [
    OutcomeKind.NO_ANSWER,
    OutcomeKind.BUSY,
    OutcomeKind.VOICEMAIL_LEFT,
    OutcomeKind.DELIVERED,
    OutcomeKind.CONVERSATION_RIGHT_PARTY,
    OutcomeKind.NOT_CONNECTED,
    None,
]


def build(rng: random.Random, n: int, now: datetime) -> list[GateInput]:
    inputs = []
    for i in range(n):
        addresses, numbers = PROFILES[i % len(PROFILES)]
        party = PartyFacts(
            party_id=f"p{i}",
            role=PartyRole.BORROWER,
            addresses=addresses,
            phones=tuple(Phone(number=num, type=PhoneType.MOBILE) for num in numbers),
            emails=(Email(address=f"p{i}@example.com"),),
        )
        attempts = []
        for k in range(rng.randint(60, 90)):  # 30 days of history
            channel = rng.choice([Channel.CALL, Channel.CALL, Channel.SMS, Channel.EMAIL])
            to = f"p{i}@example.com" if channel == Channel.EMAIL else rng.choice(numbers)
            at = now - timedelta(minutes=rng.randint(60, 30 * 24 * 60))
            outcome = rng.choice(OUTCOMES) if channel == Channel.CALL else OutcomeKind.DELIVERED
            attempts.append(
                AttemptRecord(f"a{i}-{k}", rng.choice(["L1", "L2"]), channel, to, at, outcome)
            )
        since = now - timedelta(days=90)
        consents = (
            ConsentRecord(Channel.CALL, None, None, True, since, since, since, True),
            ConsentRecord(Channel.SMS, None, None, True, since, since, since, True),
            ConsentRecord(Channel.EMAIL, None, None, True, since, since, since, True),
        )
        channel = rng.choice([Channel.CALL, Channel.SMS, Channel.EMAIL])
        to = f"p{i}@example.com" if channel == Channel.EMAIL else numbers[0]
        at = now + timedelta(minutes=rng.randint(0, 24 * 60))
        intent = ContactIntent(f"i{i}", party.party_id, "L1", channel, to, Purpose.COLLECTION, at)
        history = tuple(sorted(attempts, key=lambda a: a.at))
        inputs.append(GateInput(intent, party, DebtFacts("L1"), history, consents))
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="new inputs in every round")
    args = parser.parse_args()
    policy = load_policy("default")
    now = datetime(2026, 4, 14, 12, 0, tzinfo=UTC)
    inputs = build(random.Random(7), args.people, now)
    verdicts = Counter(str(evaluate(inp, policy).verdict) for inp in inputs)  # warm caches
    best = 0.0
    for round_ in range(args.rounds):
        if args.fresh:
            inputs = build(random.Random(100 + round_), args.people, now)
        start = time.perf_counter()
        for inp in inputs:
            evaluate(inp, policy)
        best = max(best, len(inputs) / (time.perf_counter() - start))
    attempts = sum(len(inp.attempts) for inp in inputs) / len(inputs)
    print(
        f"policy {policy.name} {policy.version}; {len(inputs)} people, {attempts:.0f} attempts each"
    )
    print(f"verdicts: {dict(sorted(verdicts.items()))}")
    mode = "new inputs each round" if args.fresh else "same inputs each round"
    print(f"{best:,.0f} decisions/s (best of {args.rounds} rounds, {mode}, one core)")


if __name__ == "__main__":
    main()
