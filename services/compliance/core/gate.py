"""evaluate(): the compliance decision for one intended contact, with its evidence (P1, P4).

Order of reasoning: every rule of every applicable pack is evaluated at ``intent.at``. Any
suppress wins (strictest-wins across packs, RF-25). Otherwise the deferrable rules (local-time
windows, stated times, holidays, caps, cooldowns) are driven to a common fixpoint: each reports
the earliest instant it clears, the gate jumps to the latest of those and asks again, until all
clear at once. Each jump lands on an instant no later than the true answer, so the fixpoint is
the exact earliest instant at which the contact could be authorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Literal

from contracts.decisions import Evidence, RuleOutcome, Verdict, Window
from contracts.values import Channel
from services.compliance.core import consent, counters, holds, localtime, schema
from services.compliance.core.model import GateInput, GateResult
from services.compliance.core.policy import Policy
from services.compliance.core.zones import jurisdictions_of, zones_of

_MAX_JUMPS = 64
_TIMED = frozenset({Channel.CALL, Channel.SMS, Channel.EMAIL})
Clear = Callable[[datetime], datetime | None]  # earliest instant >= t at which a rule clears
Effect = Literal["pass", "suppress", "defer"]


def _time_constraints(pack: schema.Pack, inp: GateInput) -> list[localtime.Constraint]:
    channel = inp.intent.channel
    windows, holiday = _pack_time_rules(pack, channel)
    found: list[localtime.Constraint] = list(windows)
    stated = pack.stated_times
    ranges = tuple((r.start, r.end) for r in inp.party.inconvenient_times if r.start != r.end)
    if stated is not None and ranges and channel in stated.channels:
        found.append(localtime.Daily(stated.id, ranges, inside=False))
    if holiday is not None:
        found.append(holiday)
    return found


_PackTimeRules = tuple[tuple[localtime.Daily, ...], localtime.Holidays | None]
# (id(pack), channel) -> (pack, its window and holiday constraints): pack data only. The pack is
# kept in the entry so its id cannot be reused while the entry lives; bounded by clearing.
_PACK_TIME_RULES: dict[tuple[int, Channel], tuple[schema.Pack, _PackTimeRules]] = {}
_PACK_TIME_RULES_SIZE = 1024


def _pack_time_rules(pack: schema.Pack, channel: Channel) -> _PackTimeRules:
    key = (id(pack), channel)
    entry = _PACK_TIME_RULES.get(key)
    if entry is not None and entry[0] is pack:
        return entry[1]
    windows = tuple(
        localtime.Daily(
            w.id, ((schema.parse_hhmm(w.start), schema.parse_hhmm(w.end)),), inside=True
        )
        for w in pack.windows
        if channel in w.channels
    )
    hol = pack.holidays
    holiday = (
        localtime.Holidays(hol.id, hol.country, hol.subdiv)
        if hol is not None and hol.no_contact_on_public_holidays and channel in hol.channels
        else None
    )
    if len(_PACK_TIME_RULES) >= _PACK_TIME_RULES_SIZE:
        _PACK_TIME_RULES.clear()
    _PACK_TIME_RULES[key] = (pack, (windows, holiday))
    return windows, holiday


@lru_cache(maxsize=8192)
def _shared_outcome(rule_id: str, effect: Effect, detail: str) -> RuleOutcome:
    """Outcomes without an instant repeat across decisions; they are frozen, so one is shared."""
    return RuleOutcome(rule_id=rule_id, effect=effect, detail=detail, until=None)


@dataclass
class _Run:
    """One evaluation's working state: the outcomes so far, counts read and clear-time functions."""

    inp: GateInput
    policy: Policy
    scope: counters.Scope
    outcomes: list[RuleOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    clears: list[Clear] = field(default_factory=list)
    local: list[localtime.Constraint] = field(default_factory=list)
    exempt: bool = False  # TC-4: an opt-out confirmation inside its allowance

    @property
    def at(self) -> datetime:
        return self.inp.intent.at

    def add(
        self, rule_id: str, effect: Effect, detail: str = "", until: datetime | None = None
    ) -> None:
        self.outcomes.append(
            _shared_outcome(rule_id, effect, detail)
            if until is None
            else RuleOutcome(rule_id=rule_id, effect=effect, detail=detail, until=until)
        )


def evaluate(inp: GateInput, policy: Policy) -> GateResult:
    """Authorise, suppress or defer ``inp.intent`` under ``policy``; pure and deterministic."""
    intent, at = inp.intent, inp.intent.at
    zones = zones_of(inp.party)
    juris = jurisdictions_of(inp.party, inp.borrower_addresses)
    scope = counters.Scope(
        intent=intent,
        phone_types={p.number: p.type for p in inp.party.phones},
        known_emails=frozenset(e.address for e in inp.party.emails),
        zones=zones,
    )
    run = _Run(inp, policy, scope)
    ledger = consent.resolve(inp.consents, intent.channel, intent.to, intent.purpose, at)
    packs = policy.packs_for(juris)
    # TC-4 applies when any applicable pack grants it: the allowance is part of the opt-out rule.
    run.exempt = any(
        consent.confirmation_allowed(p.confirmation, ledger, intent, inp.attempts)
        for p in packs
        if p.confirmation is not None
    )
    for pack in packs:
        _pack(run, pack, ledger)
    if run.local and zones:
        local = tuple(run.local)
        run.clears.append(lambda t: localtime.earliest(t, zones, local))
        opens, closes = localtime.interval(at, zones, local)
    else:
        opens = closes = None
    evidence = Evidence(
        candidate_zones=zones,
        window=Window(opens_at=opens, closes_at=closes),
        counts=dict(sorted(run.counts.items())),
        consent=ledger.summary(intent.channel),
        holds=holds.active_holds(inp),
        jurisdictions=juris,
    )
    suppress = sorted({o.rule_id for o in run.outcomes if o.effect == "suppress"})
    if suppress:
        return GateResult(Verdict.SUPPRESSED, tuple(suppress), tuple(run.outcomes), evidence)
    defer = sorted({o.rule_id for o in run.outcomes if o.effect == "defer"})
    if not defer:
        return GateResult(Verdict.AUTHORISED, (), tuple(run.outcomes), evidence)
    until = _fixpoint(at, run.clears)
    if until is None:
        run.add("P1-HORIZON", "suppress", "no instant clears every deferring rule in the horizon")
        return GateResult(Verdict.SUPPRESSED, ("P1-HORIZON",), tuple(run.outcomes), evidence)
    return GateResult(Verdict.DEFERRED, tuple(defer), tuple(run.outcomes), evidence, until)


def _pack(run: _Run, pack: schema.Pack, ledger: consent.Ledger) -> None:
    """Every rule of one pack, in a fixed order: holds, consent, location, time, caps, cooldowns."""
    inp, at, zones = run.inp, run.at, run.scope.zones
    intent = inp.intent
    for hold in pack.holds:
        if hold.hold == "no_location":
            problem = "no candidate time zone" if not zones and intent.channel in _TIMED else None
        else:
            problem = holds.check(hold, inp)
        run.add(hold.id, "suppress" if problem else "pass", problem or "")
    exempt = run.exempt
    for opt in pack.opt_outs:
        fires = consent.opt_out_fires(opt, ledger, intent.channel)
        run.add(opt.id, "suppress" if fires and not exempt else "pass", _opt_detail(fires, exempt))
    for need in pack.consent_required:
        run.add(need.id, *_consent_effect(need, ledger, run.scope, exempt))
    if pack.confirmation is not None and intent.purpose == pack.confirmation.purpose:
        run.add(pack.confirmation.id, "pass", "exempt" if exempt else "not exempt")
    if pack.location is not None:
        run.add(pack.location.id, "pass", f"intersection over {len(zones)} candidate zone(s)")
    for constraint in _time_constraints(pack, inp):
        run.local.append(constraint)
        if not zones or localtime.holds(at, zones, (constraint,)):
            run.add(constraint.rule_id, "pass")
            continue
        until = localtime.earliest(at, zones, (constraint,))
        if until is None:
            run.add(constraint.rule_id, "suppress", "no allowed local time within the horizon")
        else:
            run.add(constraint.rule_id, "defer", "outside the local window", until)
    for counter in pack.counters:
        _counter(run, counter)
    for cooldown in pack.cooldowns:
        _cooldown(run, cooldown)


def _fixpoint(at: datetime, clears: list[Clear]) -> datetime | None:
    t = at
    for _ in range(_MAX_JUMPS):
        nxt = t
        for clear in clears:
            when = clear(t)
            if when is None:
                return None
            nxt = max(nxt, when)
        if nxt == t:
            return t.astimezone(at.tzinfo)
        t = nxt
    return None


def _opt_detail(fires: bool, exempt: bool) -> str:
    if not fires:
        return ""
    return "opted out; TC-4 confirmation allowed" if exempt else "opted out"


def _consent_effect(
    need: schema.ConsentRule, ledger: consent.Ledger, scope: counters.Scope, exempt: bool
) -> tuple[Effect, str]:
    intent = scope.intent
    dest = scope.dest_type(intent.to)
    if intent.channel not in need.channels or (
        need.phone_types is not None and dest not in need.phone_types and dest != "unknown"
    ):
        return "pass", "not required"
    if exempt:
        return "pass", "TC-4 confirmation"
    has = bool(ledger.grants) and ledger.revocation is None
    if need.written:
        return (
            ("pass", "written consent")
            if has and ledger.written
            else ("suppress", "no written consent")
        )
    return ("pass", "prior express consent") if has else ("suppress", "no prior express consent")


def _counter(run: _Run, rule: schema.CounterRule) -> None:
    scope, at = run.scope, run.at
    if not counters.gates(rule, scope):
        run.add(rule.id, "pass", f"{rule.key}: does not limit this contact")
        return
    times = counters.relevant(rule, run.policy.kinds[rule.counts], run.inp.attempts, scope)
    zones = scope.zones
    value = counters.count_at(rule, times, at, zones)
    run.counts[rule.key] = value
    detail = f"{rule.key}: {value} {rule.counts} of max {rule.max}"
    clear = counters.clearing(rule, times, zones)
    if value < rule.max:
        run.add(rule.id, "pass", detail)
    else:
        run.add(rule.id, "defer", detail, clear(at).astimezone(at.tzinfo))
    run.clears.append(clear)


def _cooldown(run: _Run, rule: schema.CooldownRule) -> None:
    scope, at = run.scope, run.at
    if scope.intent.channel not in rule.gates:
        run.add(rule.id, "pass", "does not limit this contact")
        return
    ends = counters.cooldown_ends(rule, run.policy.kinds[rule.after], run.inp.attempts, scope)
    active = [end for end in ends if end > at]
    run.counts[rule.id] = len(active)
    if not active:
        run.add(rule.id, "pass", f"no {rule.after} in the last {rule.block_days} days")
    else:
        until = max(active).astimezone(at.tzinfo)
        run.add(rule.id, "defer", f"{len(active)} {rule.after} in cooldown", until)
    run.clears.append(lambda t: max([t, *(end for end in ends if end > t)]))
