"""Contact caps and cooldowns as explicit data: what is counted, per whom, over which window.

Rolling windows (RF-1 "7 consecutive days") count attempts with ``T - N days < at <= T`` in
absolute time, so an attempt falls out exactly N times 24 hours after it was made, across DST
changes too. Calendar-day windows (CN-3, CN-4) are computed in *every* candidate zone and bind
if the cap is reached in any of them (the strict reading when the person's zone is uncertain).
Reserved attempts count from reservation (P2) per counting.yaml.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic_core import TzInfo

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, PhoneType
from services.compliance.core import localtime, schema
from services.compliance.core.model import AttemptRecord, ContactIntent, PartyFacts

_UTC_ONLY = ("UTC",)
_FIXED_TZ = (timezone, TzInfo)  # tzinfo types whose offset never changes


def forget() -> None:
    _cooldown_end.cache_clear()


def dest_type(party: PartyFacts, to: str | None) -> PhoneType | str:
    """A phone's type; "email" for the party's email; "unknown" for anything else, and for a
    number listed under two types (a mobile also listed as home, a work number also as mobile):
    which listing is right is not known, and "unknown" takes every rule either type would
    (``type_matches``; TC-1's consent). The last listing used to decide, and a mobile listed
    last as home needed no consent (session 11 review)."""
    if to is not None:
        types = {phone.type for phone in party.phones if phone.number == to}
        if len(types) == 1:
            return types.pop()
        if types:
            return "unknown"
    for email in party.emails:
        if email.address == to:
            return "email"
    return "unknown"


KindSets = tuple[frozenset[Channel], frozenset[OutcomeKind | None]]


@lru_cache(maxsize=256)
def kind_sets(kind: schema.Kind) -> KindSets:
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


def of_kind(sets: KindSets, attempts: Iterable[AttemptRecord]) -> list[AttemptRecord]:
    """The attempts a kind counts, in order."""
    channels, allowed = sets
    return [a for a in attempts if a.channel in channels and a.outcome in allowed]


def type_matches(types: tuple[PhoneType, ...] | None, dest: PhoneType | str | None) -> bool:
    # An unknown destination matches every filter: counting it everywhere is the strict choice.
    return types is None or dest == "unknown" or dest in types


# Local wall-clock arithmetic and conversions can shift an instant by a zone's offset change
# (at most a day, as when Samoa crossed the date line); two days cover any of them.
_SLACK = timedelta(days=2)


def reach(rule: schema.CounterRule | schema.CooldownRule) -> timedelta:
    """How far before the decision instant an attempt can still matter to ``rule``.

    The gate only asks about instants at or after it. An attempt older than this is outside
    every rolling window from then on and leaves it before then; it is on an earlier local date
    than any such instant in every zone; its cooldown ended before then. So it changes no count
    and no clear time, and leaving it out changes nothing.
    """
    if isinstance(rule, schema.CooldownRule):
        return timedelta(days=rule.block_days) + _SLACK
    return timedelta(days=rule.rolling_days or 1) + _SLACK


def scoped(
    per: schema.Per, attempts: list[AttemptRecord], intent: ContactIntent
) -> list[AttemptRecord]:
    """The attempts in a rule's scope (per debt, number or person), in order."""
    if per == "person_debt":
        loan = intent.loan_id
        return [a for a in attempts if a.loan_id == loan]
    if per == "number":
        to = intent.to
        return [a for a in attempts if a.to == to]
    return attempts


def fixed_offsets(times: Iterable[datetime]) -> bool:
    """Every time has a fixed-offset tzinfo (``datetime.timezone``, or pydantic's ``TzInfo`` that
    parsed datetimes carry): comparisons are then plain instant order, so a sorted list can be
    bisected with exactly the results of comparing one by one."""
    return not [at for at in times if type(at.tzinfo) not in _FIXED_TZ]


def _rolling(times: list[datetime], t: datetime, span: timedelta) -> int:
    """Attempts with ``t - span < at <= t``; ``times`` fixed-offset and sorted (see ``tally``)."""
    # In UTC: with a ZoneInfo, ``t - span`` is wall-clock arithmetic, an hour off across DST.
    start = t.astimezone(UTC) - span
    return bisect_right(times, t) - bisect_right(times, start)


def tally(
    rule: schema.CounterRule, times: list[datetime], t: datetime, zones: tuple[str, ...]
) -> tuple[int, Callable[[datetime], datetime] | None]:
    """The count at ``t`` of the rule's (sorted) times, and the function giving the earliest
    instant >= a given one at which the count is below ``max`` (exact: counts only fall at the
    instants an attempt leaves the window, so those are the only candidates). That function is
    None when fewer than ``max`` times are given: no count can reach it, so it would return its
    argument whatever it is.

    Rolling: attempts with ``t - N days < at <= t``. Calendar day: the most on t's local date
    in any candidate zone (UTC when there is none).
    """
    cap = rule.max
    if rule.rolling_days is not None:
        # A rolling window is a span of absolute time (7 days are 168 hours, whatever the clocks
        # did meanwhile). Datetimes sharing a ZoneInfo add and compare as wall times, so such
        # times are taken as UTC instants; fixed offsets already behave as instants.
        span = _days(rule.rolling_days)
        if not fixed_offsets(times):
            times = sorted([at.astimezone(UTC) for at in times])
        value = _rolling(times, t, span)
        if len(times) < cap:
            return value, None
        return value, _rolling_clear(times, span, cap)
    # Per zone, how many attempts fall on each local date.
    per_zone = [
        (zone, Counter([at.astimezone(zone).date() for at in times]))
        for zone in (ZoneInfo(z) for z in zones or _UTC_ONLY)
    ]
    value = max(days[t.astimezone(zone).date()] for zone, days in per_zone)
    if len(times) < cap:
        return value, None

    def calendar(t: datetime) -> datetime:
        candidates = [t, *_midnights_after(t, times, zones)]
        for candidate in candidates:
            value = max(days[candidate.astimezone(zone).date()] for zone, days in per_zone)
            if value < cap:
                return candidate
        return candidates[-1]  # unreachable with max >= 1: after the last attempt's day all clear

    return value, calendar


@lru_cache(maxsize=64)
def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _rolling_clear(
    times: list[datetime], span: timedelta, cap: int
) -> Callable[[datetime], datetime]:
    made: list[list[datetime]] = []  # the ends, made once when first needed

    def rolling(t: datetime) -> datetime:
        # Instant order throughout (``times`` have fixed offsets, see ``tally``): ``ends`` is
        # sorted like ``times``, so the ends after t are a suffix; the first of several equal
        # ends is the one a set would keep.
        if _rolling(times, t, span) < cap:
            return t
        if not made:
            made.append([at + span for at in times])  # when each attempt leaves the window
        ends = made[0]
        later = ends[bisect_right(ends, t) :]
        if times and times[-1] <= t:
            # Every attempt is at or before each candidate, so the count at a candidate is the
            # attempts after it minus the span: it never rises along ``later``. The first
            # candidate below the cap is then found by bisection (equal ends count alike).
            lo, hi = 0, len(later)
            while lo < hi:
                mid = (lo + hi) // 2
                if _rolling(times, later[mid], span) < cap:
                    hi = mid
                else:
                    lo = mid + 1
            if lo < len(later):
                return later[lo]
            return sorted({t, *later})[-1]  # unreachable with max >= 1
        previous = t
        for candidate in later:
            if candidate == previous:
                continue
            if _rolling(times, candidate, span) < cap:
                return candidate
            previous = candidate
        return sorted({t, *later})[-1]  # unreachable with max >= 1

    return rolling


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
    rule: schema.CooldownRule, counted: list[AttemptRecord], zones: tuple[str, ...]
) -> list[tuple[datetime, datetime]]:
    """RF-2: the event day is day 1, so contact is allowed from 00:00 local on day block_days+1.

    One end per counted event (in the rule's scope, see ``scoped``); with several candidate
    zones the latest such midnight binds. Each end comes with its instant in UTC (``later``).
    """
    days = rule.block_days
    return [_cooldown_end(*localtime.stamp(a.at), zones, days) for a in counted]


@lru_cache(maxsize=65536)
def _cooldown_end(
    _tz: int, _fold: int, at: datetime, zones: tuple[str, ...], block_days: int
) -> tuple[datetime, datetime]:
    # Keyed by ``localtime.stamp(at)``: an equal key is an identical datetime.
    block = timedelta(days=block_days)
    tzs = [ZoneInfo(name) for name in zones or _UTC_ONLY]
    end = max(_local_midnight(at.astimezone(zone).date() + block, zone) for zone in tzs)
    return end, end.astimezone(UTC)


def later(ends: list[tuple[datetime, datetime]], t: datetime) -> list[datetime]:
    """``[end for end in ends if end > t]``, comparing instants in UTC where that is the same."""
    tz = t.tzinfo
    # Datetimes with different tzinfo objects compare as instants; with the same one, as wall
    # times (which can differ around a DST change), so those are compared as they are.
    return [end for end, utc in ends if (utc > t if end.tzinfo is not tz else end > t)]
