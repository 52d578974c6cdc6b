"""evaluate(): the compliance decision for one intended contact, with its evidence (P1, P4).

Order of reasoning: every rule of every applicable pack is evaluated at ``intent.at``. Any
suppress wins (strictest-wins across packs, RF-25). Otherwise the deferrable rules (local-time
windows, stated times, holidays, caps, cooldowns) are driven to a common fixpoint: each reports
the earliest instant it clears, the gate jumps to the latest of those and asks again, until all
clear at once. Each jump lands on an instant no later than the true answer, so the fixpoint is
the exact earliest instant at which the contact could be authorised.

The rules come from a plan compiled once per policy, jurisdictions, channel and purpose
(``_plan``); outcomes, windows and evidence that repeat across decisions are shared objects.
"""

from __future__ import annotations

from datetime import datetime

from contracts.decisions import Evidence, Verdict, Window
from contracts.values import Channel
from services.compliance.core import _plan, _run, consent, counters, holds, localtime, zones
from services.compliance.core._plan import plan_for
from services.compliance.core._run import Clear, Run, outcome
from services.compliance.core.model import GateInput, GateResult
from services.compliance.core.policy import Policy

_MAX_JUMPS = 64


def evaluate(inp: GateInput, policy: Policy) -> GateResult:
    """Authorise, suppress or defer ``inp.intent`` under ``policy``; pure and deterministic."""
    intent, at = inp.intent, inp.intent.at
    zones, juris = policy.places.whereabouts(inp.party, inp.borrower_addresses)
    ledger = consent.resolve(inp.consents, intent.channel, intent.to, intent.purpose, at)
    active = holds.active_holds(inp)
    run = Run(inp, zones, ledger, active)
    plan = plan_for(policy, juris, intent.channel, intent.purpose)
    # TC-4 applies when any applicable pack grants it: the allowance is part of the opt-out rule.
    if plan.confirmations:
        run.exempt = any(
            consent.confirmation_allowed(rule, ledger, intent, inp.attempts)
            for rule in plan.confirmations
        )
    outcomes = run.outcomes
    for step in plan.steps:
        if isinstance(step, tuple):
            outcomes.extend(step)
        else:
            step(run)
    if run.local and zones:
        if run.stated:
            schedule = localtime.schedule(zones, tuple(run.local))
        else:
            schedule = plan.schedule(zones)
        run.clears.append(schedule.earliest)
        opens, closes = schedule.interval(at)
    else:
        opens = closes = None
    evidence = _evidence(zones, opens, closes, run.counts, ledger, intent.channel, active, juris)
    suppress: set[str] = set()
    defer: set[str] = set()
    for found in run.flagged:
        (suppress if found.effect == "suppress" else defer).add(found.rule_id)
    if suppress:
        return GateResult(Verdict.SUPPRESSED, tuple(sorted(suppress)), tuple(outcomes), evidence)
    if not defer:
        return GateResult(Verdict.AUTHORISED, (), tuple(outcomes), evidence)
    until = _fixpoint(at, run.clears)
    if until is None:
        detail = "no instant clears every deferring rule in the horizon"
        outcomes.append(outcome("P1-HORIZON", "suppress", detail))
        return GateResult(Verdict.SUPPRESSED, ("P1-HORIZON",), tuple(outcomes), evidence)
    return GateResult(Verdict.DEFERRED, tuple(sorted(defer)), tuple(outcomes), evidence, until)


_Stamp = tuple[int, int, datetime] | None
# Windows repeat across decisions (the same hours on the same day), and are frozen, so one is
# shared. Keyed by ``localtime.stamp`` of each end: an equal key is an identical datetime.
# Bounded by clearing.
_WINDOWS: dict[tuple[_Stamp, _Stamp], Window] = {}
_WINDOWS_SIZE = 4096


def _stamp(at: datetime | None) -> _Stamp:
    return None if at is None else localtime.stamp(at)


def _window(opens: datetime | None, closes: datetime | None) -> Window:
    key = (_stamp(opens), _stamp(closes))
    found = _WINDOWS.get(key)
    if found is None:
        if len(_WINDOWS) >= _WINDOWS_SIZE:
            _WINDOWS.clear()
        found = _WINDOWS[key] = Window(opens_at=opens, closes_at=closes)
    return found


# Evidence repeats too (same places, window, counts and consent line), keyed by all of it; the
# window by identity, which the cached evidence keeps alive. Bounded by clearing.
_EVIDENCE: dict[tuple[object, ...], Evidence] = {}
_EVIDENCE_SIZE = 8192


def _evidence(
    zones: tuple[str, ...],
    opens: datetime | None,
    closes: datetime | None,
    counts: dict[str, int],
    ledger: consent.Ledger,
    channel: Channel,
    active: tuple[str, ...],
    juris: tuple[str, ...],
) -> Evidence:
    ordered = sorted(counts.items())
    line = ledger.summary(channel)
    if not (localtime.shared(opens) and localtime.shared(closes)):
        return Evidence(
            candidate_zones=zones,
            window=Window(opens_at=opens, closes_at=closes),
            counts=dict(ordered),
            consent=line,
            holds=active,
            jurisdictions=juris,
        )
    window = _window(opens, closes)
    key = (zones, id(window), tuple(ordered), line, active, juris)
    found = _EVIDENCE.get(key)
    if found is None:
        if len(_EVIDENCE) >= _EVIDENCE_SIZE:
            _EVIDENCE.clear()
        found = Evidence(
            candidate_zones=zones,
            window=window,
            counts=dict(ordered),
            consent=line,
            holds=active,
            jurisdictions=juris,
        )
        _EVIDENCE[key] = found
    return found


def clear_caches() -> None:
    """Forget every plan and remembered answer (each is bounded already). Decisions do not
    change: what is remembered is only ever what would be computed again."""
    _WINDOWS.clear()
    _EVIDENCE.clear()
    _plan.forget()
    _run.forget()
    consent.forget()
    counters.forget()
    localtime.forget()
    zones.forget()


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
