"""Contact caps and cooldowns as explicit data: what is counted, per whom, over which window.

Rolling windows (RF-1 "7 consecutive days") count attempts with ``T - N days < at <= T``, so an
attempt falls out exactly N days after it was made. Calendar-day windows (CN-3, CN-4) are computed
in *every* candidate zone and bind if the cap is reached in any of them (the strict reading when
the person's zone is uncertain). Reserved attempts count from reservation (P2) per counting.yaml.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, PhoneType
from services.compliance.core import schema
from services.compliance.core.model import AttemptRecord, ContactIntent

_UTC_ONLY = ("UTC",)


@dataclass(frozen=True, slots=True)
class Scope:
    """Who and what a rule sees: the intent's debt and number, and the party's phone types."""

    intent: ContactIntent
    phone_types: dict[str, PhoneType]
    known_emails: frozenset[str]
    zones: tuple[str, ...]

    def dest_type(self, to: str | None) -> PhoneType | str | None:
        """A phone's type; "email" for the party's email; "unknown" for anything else."""
        if to is not None and to in self.phone_types:
            return self.phone_types[to]
        return "email" if to in self.known_emails else "unknown"


@lru_cache(maxsize=256)
def _kind_sets(kind: schema.Kind) -> tuple[frozenset[Channel], frozenset[OutcomeKind | None]]:
    """(channels, outcomes counted); ``None`` stands for a pending attempt (no outcome yet)."""
    outcomes = None if kind.outcomes is None else frozenset(kind.outcomes)
    excluded = frozenset(kind.exclude_outcomes)
    allowed = frozenset(
        outcome
        for outcome in (None, *OutcomeKind)
        for token in ("pending" if outcome is None else outcome.value,)
        if (outcomes is None or token in outcomes) and token not in excluded
    )
    return frozenset(kind.channels), allowed


def _type_matches(types: tuple[PhoneType, ...] | None, dest: PhoneType | str | None) -> bool:
    # An unknown destination matches every filter: counting it everywhere is the strict choice.
    return types is None or dest == "unknown" or dest in types


def gates(rule: schema.CounterRule, scope: Scope) -> bool:
    """Whether this counter limits the intended contact at all."""
    intent = scope.intent
    return intent.channel in rule.gates and _type_matches(
        rule.phone_types, scope.dest_type(intent.to)
    )


def _counted(
    kind: schema.Kind, per: schema.Per, attempts: Iterable[AttemptRecord], scope: Scope
) -> list[AttemptRecord]:
    """The attempts of ``kind`` in the rule's scope (per debt, number or person), in order."""
    channels, allowed = _kind_sets(kind)
    if per == "person_debt":
        loan = scope.intent.loan_id
        return [
            a
            for a in attempts
            if a.channel in channels and a.outcome in allowed and a.loan_id == loan
        ]
    if per == "number":
        to = scope.intent.to
        return [
            a for a in attempts if a.channel in channels and a.outcome in allowed and a.to == to
        ]
    return [a for a in attempts if a.channel in channels and a.outcome in allowed]


def relevant(
    rule: schema.CounterRule, kind: schema.Kind, attempts: Iterable[AttemptRecord], scope: Scope
) -> list[datetime]:
    found = _counted(kind, rule.per, attempts, scope)
    types = rule.phone_types
    if types is None:
        return sorted(a.at for a in found)
    return sorted(a.at for a in found if _type_matches(types, scope.dest_type(a.to)))


def _fixed_offsets(times: list[datetime]) -> bool:
    """Every time has a fixed-offset tzinfo (e.g. UTC): comparisons are then plain instant order,
    so a sorted list can be bisected with exactly the results of comparing one by one."""
    return all(type(at.tzinfo) is timezone for at in times)


def _rolling(times: list[datetime], t: datetime, span: timedelta, fixed: bool) -> int:
    start = t - span
    if fixed:
        return bisect_right(times, t) - bisect_right(times, start)
    return sum(1 for at in times if start < at <= t)


def count_at(
    rule: schema.CounterRule, times: list[datetime], t: datetime, zones: tuple[str, ...]
) -> int:
    if rule.rolling_days is not None:
        start = t - timedelta(days=rule.rolling_days)
        return sum(1 for at in times if start < at <= t)
    return max(_same_day(times, t, ZoneInfo(z)) for z in zones or _UTC_ONLY)


def _same_day(times: list[datetime], t: datetime, zone: ZoneInfo) -> int:
    day = t.astimezone(zone).date()
    return sum(1 for at in times if at.astimezone(zone).date() == day)


def clears_at(
    rule: schema.CounterRule, times: list[datetime], t: datetime, zones: tuple[str, ...]
) -> datetime:
    """Earliest instant >= t at which the count is below ``max`` (exact: counts only fall at the
    instants an attempt leaves the window, so those are the only candidates)."""
    return clearing(rule, times, zones)(t)


def clearing(
    rule: schema.CounterRule, times: list[datetime], zones: tuple[str, ...]
) -> Callable[[datetime], datetime]:
    """``clears_at`` for one rule and its (sorted) times, with the per-times work done once."""
    cap = rule.max
    if rule.rolling_days is not None:
        span = timedelta(days=rule.rolling_days)
        ends = [at + span for at in times]  # when each attempt leaves the window
        if not _fixed_offsets(times):

            def rolling(t: datetime) -> datetime:
                candidates = sorted({t, *(end for end in ends if end > t)})
                for candidate in candidates:
                    if _rolling(times, candidate, span, False) < cap:
                        return candidate
                return candidates[-1]  # unreachable with max >= 1

            return rolling

        def rolling_fixed(t: datetime) -> datetime:
            # Instant order throughout: ``ends`` is sorted like ``times``, so the ends after t
            # are a suffix; the first of several equal ends is the one a set would keep.
            if _rolling(times, t, span, True) < cap:
                return t
            later = ends[bisect_right(ends, t) :]
            previous = t
            for candidate in later:
                if candidate == previous:
                    continue
                if _rolling(times, candidate, span, True) < cap:
                    return candidate
                previous = candidate
            return sorted({t, *later})[-1]  # unreachable with max >= 1

        return rolling_fixed
    # Per zone, how many attempts fall on each local date (the count _same_day makes).
    per_zone = [
        (zone, Counter(at.astimezone(zone).date() for at in times))
        for zone in (ZoneInfo(z) for z in zones or _UTC_ONLY)
    ]

    def calendar(t: datetime) -> datetime:
        candidates = [t, *_midnights_after(t, times, zones)]
        for candidate in candidates:
            value = max(days[candidate.astimezone(zone).date()] for zone, days in per_zone)
            if value < cap:
                return candidate
        return candidates[-1]  # unreachable with max >= 1: after the last attempt's day all clear

    return calendar


def _midnights_after(t: datetime, times: list[datetime], zones: tuple[str, ...]) -> list[datetime]:
    last = max([t, *times])
    found: set[datetime] = set()
    for name in zones or _UTC_ONLY:
        zone = ZoneInfo(name)
        day = t.astimezone(zone).date()
        end = last.astimezone(zone).date() + timedelta(days=1)
        while day < end:
            day += timedelta(days=1)
            found.add(_local_midnight(day, zone))
    return sorted(p for p in found if p > t)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def cooldown_ends(
    rule: schema.CooldownRule, kind: schema.Kind, attempts: Iterable[AttemptRecord], scope: Scope
) -> list[datetime]:
    """RF-2: the event day is day 1, so contact is allowed from 00:00 local on day block_days+1.

    One end per counted event; with several candidate zones the latest such midnight binds.
    """
    block = timedelta(days=rule.block_days)
    zones = [ZoneInfo(name) for name in scope.zones or _UTC_ONLY]
    return [
        max(_local_midnight(a.at.astimezone(zone).date() + block, zone) for zone in zones)
        for a in _counted(kind, rule.per, attempts, scope)
    ]
