"""Local wall-clock constraints evaluated at every candidate zone, DST-correct via zoneinfo.

A constraint holds or not as a function of local time (or local date) in each zone. Its status
can only change at a *change point*: a boundary local time on some local date in some zone, or a
DST transition. So the earliest allowed instant at or after ``t`` is ``t`` itself or the first
change point after it at which everything holds: exact, with no stepping through minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
# Local ranges repeat daily, but a run of public holidays (e.g. a week in CN) can push the next
# allowed instant far out; beyond this the gate gives up and suppresses (fail closed).
HORIZON = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Daily:
    """Allowed inside ``ranges`` (a window) or outside them (stated inconvenient times).

    Each range is [start, end); ``end <= start`` wraps past midnight. ``time.max`` as end = 24:00.
    """

    rule_id: str
    ranges: tuple[tuple[time, time], ...]
    inside: bool

    def ok(self, local: datetime) -> bool:
        tod = local.time()
        hit = any(_in_range(tod, start, end) for start, end in self.ranges)
        return hit if self.inside else not hit

    @property
    def boundaries(self) -> tuple[time, ...]:
        return tuple(b for pair in self.ranges for b in pair if b != time.max)


@dataclass(frozen=True, slots=True)
class Holidays:
    """No contact on the local dates of a country's public holidays (``holidays`` package)."""

    rule_id: str
    country: str
    subdiv: str | None

    def ok(self, local: datetime) -> bool:
        return local.date() not in _holiday_dates(self.country, self.subdiv, local.year)

    @property
    def boundaries(self) -> tuple[time, ...]:
        return (_MIDNIGHT,)


Constraint = Daily | Holidays


def _in_range(tod: time, start: time, end: time) -> bool:
    if start < end:
        return start <= tod < end
    return tod >= start or tod < end


@cache
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdiv, years=year))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _transitions(name: str, year: int) -> tuple[datetime, ...]:
    """UTC instants in ``year`` where the zone's offset changes (found by bisection to 1 s)."""
    zone = _zone(name)
    found: list[datetime] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while day < end:
        nxt = day + _DAY
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        day = nxt
    return tuple(found)


@cache
def _transition_days(name: str, year: int) -> frozenset[date]:
    """Local dates around an offset change: only there can a local time occur twice."""
    zone = _zone(name)
    days: set[date] = set()
    for point in _transitions(name, year):
        local = point.astimezone(zone).date()
        days.update((local - _DAY, local, local + _DAY))
    return frozenset(days)


def holds(t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> bool:
    return all(c.ok(t.astimezone(_zone(z))) for z in zones for c in constraints)


def _change_points(
    zones: tuple[str, ...], constraints: tuple[Constraint, ...], lo: datetime, hi: datetime
) -> list[datetime]:
    """Sorted instants p with lo < p <= hi where some constraint may change status."""
    bounds = sorted({b for c in constraints for b in c.boundaries})
    points: set[datetime] = set()
    for name in zones:
        zone = _zone(name)
        day = lo.astimezone(zone).date() - _DAY
        last = hi.astimezone(zone).date() + _DAY
        while day <= last:
            # Both folds near a DST change: a boundary in the repeated hour happens twice.
            folds = (0, 1) if day in _transition_days(name, day.year) else (0,)
            for b in bounds:
                for fold in folds:
                    inst = datetime.combine(day, b, tzinfo=zone).replace(fold=fold).astimezone(UTC)
                    if lo < inst <= hi:
                        points.add(inst)
            day += _DAY
        # A boundary that falls in a spring-forward gap takes effect at the transition itself.
        for year in range(lo.year, hi.year + 1):
            points.update(p for p in _transitions(name, year) if lo < p <= hi)
    return sorted(points)


def earliest(
    t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]
) -> datetime | None:
    """The earliest instant >= t at which every constraint holds in every zone; None if > HORIZON."""
    if holds(t, zones, constraints):
        return t
    lo = t
    step = timedelta(days=2)
    while lo < t + HORIZON:
        hi = min(lo + step, t + HORIZON)
        for point in _change_points(zones, constraints, lo, hi):
            if holds(point, zones, constraints):
                return point.astimezone(t.tzinfo)
        lo = hi
        step = timedelta(days=7)
    return None


def interval(
    t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]
) -> tuple[datetime | None, datetime | None]:
    """The allowed interval containing t, or else the next one: (opens_at, closes_at).

    None at an end means unbounded within two days of search (e.g. nothing constrains the time).
    """
    if not constraints or not zones:
        return None, None
    start = earliest(t, zones, constraints)
    if start is None:
        return None, None
    opens: datetime | None = start
    if start == t:
        # Status is constant between change points, so the run holding t began at the earliest
        # of the trailing points that all hold.
        opens = None
        for point in reversed(_change_points(zones, constraints, t - 2 * _DAY, t)):
            if not holds(point, zones, constraints):
                break
            opens = point
        else:
            opens = None
    closes = next(
        (
            p
            for p in _change_points(zones, constraints, start, start + 2 * _DAY)
            if not holds(p, zones, constraints)
        ),
        None,
    )
    tz = t.tzinfo
    return (
        None if opens is None else opens.astimezone(tz),
        None if closes is None else closes.astimezone(tz),
    )
