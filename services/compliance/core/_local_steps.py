"""The local-time step of a plan: a pack's windows, the person's stated inconvenient times and
public holidays, checked at every candidate zone (RF-7). What the fixed rules find is a function
of the zones and the instant only, so it is remembered per (zones, instant)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from contracts.decisions import RuleOutcome
from contracts.values import Channel
from services.compliance.core import localtime, schema
from services.compliance.core._run import Run, Step, deferred, outcome


def local_time(
    pack: schema.Pack, channel: Channel, local: list[localtime.Constraint]
) -> Step | None:
    """The step for a pack's local-time rules on ``channel`` (None if it has none); its fixed
    constraints (windows, then holidays) are added to ``local``."""
    windows = tuple(
        localtime.Daily(
            w.id, ((schema.parse_hhmm(w.start), schema.parse_hhmm(w.end)),), inside=True
        )
        for w in pack.windows
        if channel in w.channels
    )
    hol = pack.holidays
    holiday = (
        (localtime.Holidays(hol.id, hol.country, hol.subdiv),)
        if hol is not None and hol.no_contact_on_public_holidays and channel in hol.channels
        else ()
    )
    stated = pack.stated_times
    stated_id = stated.id if stated is not None and channel in stated.channels else None
    fixed = windows + holiday
    local.extend(fixed)
    if not fixed and stated_id is None:
        return None

    rules = tuple(_TimeRule(c) for c in fixed)
    before, after = rules[: len(windows)], rules[len(windows) :]
    passes = tuple(rule.passed for rule in rules)
    # (zones, localtime.instant_key(at)) -> what each of ``rules`` finds (a function of the zones
    # and the instant only), and the outcomes that makes for at's tzinfo object (the one a
    # deferral is expressed in): reused whole when the next at has that same object.
    # Bounded by clearing.
    memo: dict[tuple[tuple[str, ...], localtime.InstantKey], _TimeEntry] = {}

    def step(run: Run) -> None:
        if stated_id is not None and run.inp.party.inconvenient_times:
            ranges = tuple(
                (r.start, r.end) for r in run.inp.party.inconvenient_times if r.start != r.end
            )
            if ranges:
                stated = _TimeRule(localtime.Daily(stated_id, ranges, inside=False))
                found = (*before, stated, *after)
                run.stated = True
                run.local.extend(rule.constraint for rule in found)
                for rule in found:
                    rule.add(run, rule.find(run))
                return
        run.local.extend(fixed)
        zones = run.zones
        if not zones:
            run.outcomes.extend(passes)
            return
        at = run.at
        key = (zones, localtime.instant_key(at))
        entry = memo.get(key)
        if entry is not None and entry[0] is at.tzinfo:
            run.outcomes.extend(entry[1])
            run.flagged.extend(entry[2])
            return
        finds = tuple(rule.find(run) for rule in rules) if entry is None else entry[3]
        marks = len(run.outcomes), len(run.flagged)
        for rule, seen in zip(rules, finds, strict=True):
            rule.add(run, seen)
        if len(memo) >= SCHEDULES_SIZE * 16:
            memo.clear()
        memo[key] = (
            at.tzinfo,
            tuple(run.outcomes[marks[0] :]),
            tuple(run.flagged[marks[1] :]),
            finds,
        )

    return step


# What a time rule finds at an instant: its pass outcome, its suppress outcome, or the UTC
# instant (a change point) at which it clears.
_Found = RuleOutcome | datetime
_TimeEntry = tuple[
    tzinfo | None, tuple[RuleOutcome, ...], tuple[RuleOutcome, ...], tuple[_Found, ...]
]


class _TimeRule:
    """One local-time constraint of a plan, with its schedule per set of candidate zones."""

    __slots__ = ("constraint", "passed", "schedules")

    def __init__(self, constraint: localtime.Constraint) -> None:
        self.constraint = constraint
        self.passed = outcome(constraint.rule_id, "pass", "")
        self.schedules: dict[tuple[str, ...], localtime.Schedule] = {}

    def find(self, run: Run) -> _Found:
        constraint, zones = self.constraint, run.zones
        if not zones or run.holds(constraint):
            return self.passed
        schedule = self.schedules.get(zones)
        if schedule is None:
            if len(self.schedules) >= SCHEDULES_SIZE:
                self.schedules.clear()
            schedule = self.schedules[zones] = localtime.schedule(zones, (constraint,))
        # Not holding at ``at``, so the answer is a later change point, or none.
        until = schedule.earliest_raw(run.at)
        if isinstance(until, datetime):
            return until
        detail = "no allowed local time within the horizon"
        return outcome(constraint.rule_id, "suppress", detail)

    def add(self, run: Run, found: _Found) -> None:
        if found is self.passed:
            run.outcomes.append(found)
        elif isinstance(found, datetime):
            until = found.astimezone(run.at.tzinfo)  # as localtime.earliest expresses it
            run.flag(deferred(self.constraint.rule_id, "outside the local window", until))
        else:
            run.flag(found)


SCHEDULES_SIZE = 256  # schedules kept per rule and per plan, by candidate zones
