"""The demo report: read back the ledger, outcomes and dead letters, and summarise them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, select_autoescape
from rich.console import Console
from rich.table import Table

from contracts import STRATEGY_TYPES, RepaymentPlanAgreed, SegmentAssigned
from contracts.decisions import ContactDecided, Verdict
from contracts.ledger import LedgerEntry
from events.envelope import Envelope
from events.topics import Topics
from services.runtime.logreader import read_all


@dataclass
class Stats:
    ledger_entries: int = 0
    inputs_applied: int = 0
    duplicates: int = 0
    deadletters: int = 0
    deadletter_reasons: Counter[str] = field(default_factory=Counter)
    asked: Counter[tuple[str, str]] = field(
        default_factory=Counter
    )  # (stage, channel) distinct attempts
    granted: Counter[tuple[str, str]] = field(default_factory=Counter)
    deferred: Counter[tuple[str, str]] = field(default_factory=Counter)
    suppressed: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)  # (verdict, rule id)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, outcome)
    dispatch_started: Counter[str] = field(default_factory=Counter)  # attempt id -> count
    policy_versions: set[str] = field(default_factory=set)
    # The strategy's own events: hand-offs, plans broken/completed, segment moves.
    strategy: Counter[str] = field(default_factory=Counter)
    segments: Counter[str] = field(default_factory=Counter)  # each borrower's last segment


async def collect(bootstrap: str, topics: Topics, partitions: int) -> Stats:
    stats = Stats()
    final: dict[str, ContactDecided] = {}
    segment_of: dict[str, str] = {}
    borrowers: set[str] = set()
    everything = set(range(partitions))
    async for record in read_all(bootstrap, topics.ledger, everything):
        entry = LedgerEntry.model_validate_json(record.value)
        borrowers.add(entry.borrower_id)
        stats.ledger_entries += 1
        stats.inputs_applied += entry.input is not None
        stats.duplicates += entry.duplicate
        stats.policy_versions.add(entry.policy_version)
        for raw in entry.derived:
            if raw["type"] == ContactDecided.TYPE:
                d = ContactDecided.model_validate(raw["payload"])
                final[d.attempt_id] = d
                for rule in d.reasons:
                    stats.by_rule[(d.verdict.value, rule)] += 1
            elif raw["type"] in _STRATEGY_EVENTS:
                stats.strategy[raw["type"]] += 1
                if raw["type"] == SegmentAssigned.TYPE:
                    segment_of[entry.borrower_id] = str(raw["payload"]["segment"])
        if entry.event is not None and entry.event["type"] == RepaymentPlanAgreed.TYPE:
            stats.strategy[RepaymentPlanAgreed.TYPE] += 1
    # A borrower starts cooperative; only moves are recorded (docs/decisions/0007).
    stats.segments.update(segment_of.get(b, "cooperative") for b in borrowers)
    for d in final.values():
        key = (d.stage or d.purpose.value, d.channel.value)
        stats.asked[key] += 1
        bucket = {
            Verdict.AUTHORISED: stats.granted,
            Verdict.DEFERRED: stats.deferred,
            Verdict.SUPPRESSED: stats.suppressed,
        }
        bucket[d.verdict][key] += 1
    async for record in read_all(bootstrap, topics.outcomes, everything):
        env = Envelope.model_validate_json(record.value)
        if env.type == "dispatch.started":
            stats.dispatch_started[str(env.payload["attempt_id"])] += 1
        elif env.type == "contact.outcome":
            stats.outcomes[(str(env.payload["channel"]), str(env.payload["outcome"]))] += 1
    async for record in read_all(bootstrap, topics.deadletter, everything):
        stats.deadletters += 1
        stats.deadletter_reasons[
            Envelope.__name__ if not record.value else _reason(record.value)
        ] += 1
    return stats


_STRATEGY_EVENTS = frozenset(m.TYPE for m in STRATEGY_TYPES)


def _reason(value: bytes) -> str:
    return str(json.loads(value).get("reason", "?"))


def _rows(stats: Stats) -> list[tuple[str, str, int, int, int, int]]:
    keys = sorted(stats.asked)
    return [
        (
            s,
            c,
            stats.asked[(s, c)],
            stats.granted[(s, c)],
            stats.deferred[(s, c)],
            stats.suppressed[(s, c)],
        )
        for s, c in keys
    ]


def render_terminal(console: Console, stats: Stats, summary: dict[str, object]) -> None:
    table = Table(title="Contacts by stage and channel (final verdict per attempt)")
    for col in ("stage", "channel", "asked", "granted", "deferred, never granted", "suppressed"):
        table.add_column(col, justify="right" if col not in ("stage", "channel") else "left")
    for row in _rows(stats):
        table.add_row(*(str(x) for x in row))
    console.print(table)
    rules = Table(title="Suppressed and deferred decisions by rule")
    for col in ("verdict", "rule", "decisions"):
        rules.add_column(col)
    for (verdict, rule), n in sorted(stats.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        rules.add_row(verdict, rule, str(n))
    console.print(rules)
    outcomes = Table(title="Outcomes")
    for col in ("channel", "outcome", "count"):
        outcomes.add_column(col)
    for (channel, outcome), n in sorted(stats.outcomes.items()):
        outcomes.add_row(channel, outcome, str(n))
    console.print(outcomes)
    strategy = Table(title="Strategy: segments (each borrower's last) and events")
    for col in ("what", "count"):
        strategy.add_column(col)
    for what, n in _strategy_rows(stats):
        strategy.add_row(what, str(n))
    console.print(strategy)
    facts = Table(title="Run")
    facts.add_column("measure")
    facts.add_column("value", justify="right")
    for k, v in summary.items():
        facts.add_row(k, str(v))
    console.print(facts)


def _strategy_rows(stats: Stats) -> list[tuple[str, int]]:
    return [(f"segment: {k}", n) for k, n in sorted(stats.segments.items())] + sorted(
        stats.strategy.items()
    )


_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Parley demo report</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}</style>
</head><body><h1>Parley demo report</h1>
<h2>Run</h2><table>{% for k, v in summary.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>Contacts by stage and channel</h2><p>Asked = distinct attempts the strategy asked for; the final verdict on each: granted, deferred and never granted (its intent expired, or the run ended first), or suppressed.</p>
<table><tr><th>stage</th><th>channel</th><th>asked</th><th>granted</th><th>deferred, never granted</th><th>suppressed</th></tr>
{% for r in rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>Suppressed and deferred decisions by rule</h2><table><tr><th>verdict</th><th>rule</th><th>decisions</th></tr>
{% for (v, r), n in rules %}<tr><td>{{ v }}</td><td>{{ r }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
<h2>Outcomes</h2><table><tr><th>channel</th><th>outcome</th><th>count</th></tr>
{% for (c, o), n in outcomes %}<tr><td>{{ c }}</td><td>{{ o }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
<h2>Strategy</h2><table><tr><th>what</th><th>count</th></tr>
{% for w, n in strategy %}<tr><td>{{ w }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
</body></html>"""


def render_html(path: Path, stats: Stats, summary: dict[str, object]) -> None:
    env = Environment(autoescape=select_autoescape(default=True))
    html = env.from_string(_HTML).render(
        summary=summary,
        rows=_rows(stats),
        rules=sorted(stats.by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
        outcomes=sorted(stats.outcomes.items()),
        strategy=_strategy_rows(stats),
    )
    path.write_text(html, encoding="utf-8")
