"""Contact caps and cooldowns as explicit data: what is counted, per whom, over which window.

Rolling windows (RF-1 "7 consecutive days") count attempts with ``T - N days < at <= T``, so an
attempt falls out exactly N days after it was made. Calendar-day windows (CN-3, CN-4) are computed
in *every* candidate zone and bind if the cap is reached in any of them (the strict reading when
the person's zone is uncertain). Reserved attempts count from reservation (P2) per counting.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

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
def _kind_sets(
    kind: schema.Kind,
) -> tuple[frozenset[Channel], frozenset[str] | None, frozenset[str]]:
    outcomes = None if kind.outcomes is None else frozenset(kind.outcomes)
    return frozenset(kind.channels), outcomes, frozenset(kind.exclude_outcomes)


def counted(kind: schema.Kind, attempt: AttemptRecord) -> bool:
    channels, outcomes, excluded = _kind_sets(kind)
    if attempt.channel not in channels:
        return False
    token = "pending" if attempt.outcome is None else attempt.outcome.value
    return (outcomes is None or token in outcomes) and token not in excluded


def _in_scope(per: schema.Per, attempt: AttemptRecord, scope: Scope) -> bool:
    if per == "person_debt":
        return attempt.loan_id == scope.intent.loan_id
    if per == "number":
        return attempt.to == scope.intent.to
    return True


def _type_matches(types: tuple[PhoneType, ...] | None, dest: PhoneType | str | None) -> bool:
    # An unknown destination matches every filter: counting it everywhere is the strict choice.
    return types is None or dest == "unknown" or dest in types


def gates(rule: schema.CounterRule, scope: Scope) -> bool:
    """Whether this counter limits the intended contact at all."""
    intent = scope.intent
    return intent.channel in rule.gates and _type_matches(
        rule.phone_types, scope.dest_type(intent.to)
    )


def relevant(
    rule: schema.CounterRule, kind: schema.Kind, attempts: Iterable[AttemptRecord], scope: Scope
) -> list[datetime]:
    return sorted(
        a.at
        for a in attempts
        if counted(kind, a)
        and _in_scope(rule.per, a, scope)
        and _type_matches(rule.phone_types, scope.dest_type(a.to))
    )


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
    if rule.rolling_days is not None:
        span = timedelta(days=rule.rolling_days)
        candidates = sorted({t, *(at + span for at in times if at + span > t)})
    else:
        candidates = [t, *_midnights_after(t, times, zones)]
    for candidate in candidates:
        if count_at(rule, times, candidate, zones) < rule.max:
            return candidate
    return candidates[-1]  # unreachable with max >= 1: after the last attempt's day all clear


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
    ends: list[datetime] = []
    for attempt in attempts:
        if counted(kind, attempt) and _in_scope(rule.per, attempt, scope):
            ends.append(
                max(
                    _local_midnight(
                        attempt.at.astimezone(zone).date() + timedelta(days=rule.block_days), zone
                    )
                    for zone in (ZoneInfo(name) for name in scope.zones or _UTC_ONLY)
                )
            )
    return ends
