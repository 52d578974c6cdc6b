"""The steps of a plan for every kind of rule but local time (see ``_local_steps``): each adds
the outcomes of its rules to a run, exactly as reading the pack would, doing only the work the
person, the history or the instant call for."""

from __future__ import annotations

from datetime import datetime

from contracts.decisions import RuleOutcome
from contracts.values import Channel, PartyRole, PhoneType
from services.compliance.core import consent, counters, holds, schema
from services.compliance.core._run import TIMED, Run, Step, deferred, outcome
from services.compliance.core.model import AttemptRecord, PartyFacts


class Builder:
    """Steps in order: consecutive constant outcomes are gathered into one tuple."""

    def __init__(self) -> None:
        self.steps: list[tuple[RuleOutcome, ...] | Step] = []
        self.constants: list[RuleOutcome] = []

    def constant(self, found: RuleOutcome) -> None:
        self.constants.append(found)

    def step(self, step: Step) -> None:
        self._flush()
        self.steps.append(step)

    def build(self) -> tuple[tuple[RuleOutcome, ...] | Step, ...]:
        self._flush()
        return tuple(self.steps)

    def _flush(self) -> None:
        if self.constants:
            self.steps.append(tuple(self.constants))
            self.constants = []


# (position among the pack's holds, the rule, its check)
_HoldEntry = tuple[int, schema.HoldRule, holds.Check]


def add_holds(out: Builder, pack: schema.Pack, channel: Channel) -> None:
    """The pack's holds as their pass outcomes, with the checks that may find a problem."""
    if not pack.holds:
        return
    passes = tuple(outcome(hold.id, "pass", "") for hold in pack.holds)
    always: list[_HoldEntry] = []
    triggered: list[tuple[int, schema.HoldRule, holds.Check, str]] = []
    third_party: list[_HoldEntry] = []
    no_location: list[tuple[int, schema.HoldRule]] = []
    for i, hold in enumerate(pack.holds):
        if hold.hold == "no_location":
            # Decided here, not in holds.py: only the gate knows the zones. Channels of the
            # rule do not narrow it; untimed channels need no zone.
            if channel in TIMED:
                no_location.append((i, hold))
        elif hold.channels is None or channel in hold.channels:
            check = holds.CHECKS[hold.hold]
            trigger = holds.TRIGGERS.get(hold.hold)
            if trigger is not None:
                triggered.append((i, hold, check, trigger))
            elif hold.hold in holds.CONTACT_PERSON_ONLY:
                third_party.append((i, hold, check))
            else:
                always.append((i, hold, check))
    if not (always or triggered or third_party or no_location):
        for passed in passes:
            out.constant(passed)
        return
    out.step(
        _hold_step(passes, tuple(always), tuple(triggered), tuple(third_party), tuple(no_location))
    )


def _hold_step(
    passes: tuple[RuleOutcome, ...],
    always: tuple[_HoldEntry, ...],
    triggered: tuple[tuple[int, schema.HoldRule, holds.Check, str], ...],
    third_party: tuple[_HoldEntry, ...],
    no_location: tuple[tuple[int, schema.HoldRule], ...],
) -> Step:
    """Every hold passes unless its check finds a problem; checks that cannot (their hold is not
    in force, or the person is no third party) are not run."""

    def step(run: Run) -> None:
        out, inp = run.outcomes, run.inp
        base = len(out)
        out.extend(passes)
        for i, rule, check in always:
            problem = check(rule, inp)
            if problem:
                out[base + i] = found = outcome(rule.id, "suppress", problem)
                run.flagged.append(found)
        if run.active:
            active = run.active
            for i, rule, check, trigger in triggered:
                if trigger in active:
                    problem = check(rule, inp)
                    if problem:
                        out[base + i] = found = outcome(rule.id, "suppress", problem)
                        run.flagged.append(found)
        if third_party and inp.party.role == PartyRole.CONTACT_PERSON:
            for i, rule, check in third_party:
                problem = check(rule, inp)
                if problem:
                    out[base + i] = found = outcome(rule.id, "suppress", problem)
                    run.flagged.append(found)
        if not run.zones:
            for i, rule in no_location:
                out[base + i] = found = outcome(rule.id, "suppress", "no candidate time zone")
                run.flagged.append(found)

    return step


def opt_outs(rules: tuple[schema.OptOutRule, ...], channel: Channel) -> Step:
    passes = tuple(outcome(rule.id, "pass", "") for rule in rules)
    # TC-5: a revocation on another channel may bind this one, whatever this one's ledger says.
    across = any(rule.across is not None and channel in rule.channels for rule in rules)

    def step(run: Run) -> None:
        ledger = run.ledger
        if ledger.revocation is None and not across:  # nothing fires
            run.outcomes.extend(passes)
            return
        exempt = run.exempt
        for rule in rules:
            if rule.across is not None:
                _across(run, rule, channel)
                continue
            fires = consent.opt_out_fires(rule, ledger, channel)
            if fires and not exempt:
                run.flag(outcome(rule.id, "suppress", _opt_detail(fires, exempt)))
            else:
                run.outcomes.append(outcome(rule.id, "pass", _opt_detail(fires, exempt)))

    return step


def _across(run: Run, rule: schema.OptOutRule, channel: Channel) -> None:
    """TC-5: suppress when a revocation given on any of the rule's media, for any purpose,
    stands for this address (``consent.revocation_across``), from the rule's start date;
    before it, say so and pass."""
    intent = run.inp.intent
    media = rule.across if rule.across is not None and channel in rule.channels else ()
    found = consent.revocation_across(
        run.inp.consents, channel, media, intent.to, intent.purpose, run.at
    )
    if found is None:
        run.outcomes.append(outcome(rule.id, "pass", ""))
        return
    given = found.channel.value
    if not consent.across_in_force(rule, run.zones, run.at):
        detail = f"opted out by {given}; binds from {rule.in_force_from}"
        run.outcomes.append(outcome(rule.id, "pass", detail))
    elif run.exempt:
        detail = f"opted out by {given}; TC-4 confirmation allowed"
        run.outcomes.append(outcome(rule.id, "pass", detail))
    else:
        run.flag(outcome(rule.id, "suppress", f"opted out by {given}"))


def _opt_detail(fires: bool, exempt: bool) -> str:
    if not fires:
        return ""
    return "opted out; TC-4 confirmation allowed" if exempt else "opted out"


def consent_required(need: schema.ConsentRule) -> Step:
    types = need.phone_types
    not_required = outcome(need.id, "pass", "not required")
    tc4 = outcome(need.id, "pass", "TC-4 confirmation")
    if need.written:
        has, lacks = (
            outcome(need.id, "pass", "written consent"),
            outcome(need.id, "suppress", "no written consent"),
        )
    else:
        has, lacks = (
            outcome(need.id, "pass", "prior express consent"),
            outcome(need.id, "suppress", "no prior express consent"),
        )
    written = need.written

    def step(run: Run) -> None:
        dest = run.dest
        if types is not None and dest not in types and dest != "unknown":
            run.outcomes.append(not_required)
        elif run.exempt:
            run.outcomes.append(tc4)
        else:
            ledger = run.ledger
            ok = bool(ledger.grants) and ledger.revocation is None
            if written:
                ok = ok and ledger.written
            if ok:
                run.outcomes.append(has)
            else:
                run.flag(lacks)

    return step


def confirmation(rule: schema.ConfirmationRule) -> Step:
    exempt, not_exempt = outcome(rule.id, "pass", "exempt"), outcome(rule.id, "pass", "not exempt")

    def step(run: Run) -> None:
        run.outcomes.append(exempt if run.exempt else not_exempt)

    return step


def location(rule: schema.LocationRule) -> Step:
    def step(run: Run) -> None:
        detail = f"intersection over {len(run.zones)} candidate zone(s)"
        run.outcomes.append(outcome(rule.id, "pass", detail))

    return step


def counter(rule: schema.CounterRule, sets: counters.KindSets) -> Step:
    key, cap, types = rule.key, rule.max, rule.phone_types
    reach = counters.reach(rule)
    unlimited = outcome(rule.id, "pass", f"{key}: does not limit this contact")
    of_max = f"{rule.counts} of max {cap}"
    passes: dict[int, RuleOutcome] = {}  # value -> its pass outcome

    def step(run: Run) -> None:
        if types is not None and not counters.type_matches(types, run.dest):
            run.outcomes.append(unlimited)
            return
        found = run.counted(rule.per, rule.counts, sets, reach, shared=rule.shared_numbers)
        times = _times(found, types, run.inp.party)
        at, zones = run.at, run.zones
        value, clear = counters.tally(rule, times, at, zones)
        run.counts[key] = value
        if clear is None:  # fewer attempts than the cap: below it now and at every later instant
            passed = passes.get(value)
            if passed is None:
                passed = passes[value] = outcome(rule.id, "pass", f"{key}: {value} {of_max}")
            run.outcomes.append(passed)
            return
        detail = f"{key}: {value} {of_max}"
        if value < cap:
            run.outcomes.append(outcome(rule.id, "pass", detail))
        else:
            run.flag(deferred(rule.id, detail, clear(at).astimezone(at.tzinfo)))
        run.clears.append(clear)

    return step


def _times(
    found: list[AttemptRecord], types: tuple[PhoneType, ...] | None, party: PartyFacts
) -> list[datetime]:
    """The counted attempts' instants, sorted; with ``types``, only those to such numbers."""
    if types is None:
        return sorted([a.at for a in found])
    dest = counters.dest_type
    return sorted([a.at for a in found if counters.type_matches(types, dest(party, a.to))])


def cooldown(rule: schema.CooldownRule, sets: counters.KindSets) -> Step:
    idle = outcome(rule.id, "pass", f"no {rule.after} in the last {rule.block_days} days")
    reach = counters.reach(rule)

    def step(run: Run) -> None:
        at = run.at
        found = run.counted(rule.per, rule.after, sets, reach)
        ends = counters.cooldown_ends(rule, found, run.zones)
        active = counters.later(ends, at)
        run.counts[rule.id] = len(active)
        if not active:
            run.outcomes.append(idle)
        else:
            until = max(active).astimezone(at.tzinfo)
            detail = f"{len(active)} {rule.after} in cooldown"
            run.flag(deferred(rule.id, detail, until))
        if ends:  # else it clears at every instant
            run.clears.append(lambda t: max([t, *counters.later(ends, t)]))

    return step
