"""Local wall-clock constraints evaluated at every candidate zone, DST-correct via zoneinfo.

A constraint holds or not as a function of local time (or local date) in each zone. Its status
can only change at a *change point*: a boundary local time on some local date in some zone, or a
DST transition. So the earliest allowed instant at or after ``t`` is ``t`` itself or the first
change point after it at which everything holds: exact, with no stepping through minutes.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
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
        for start, end in self.ranges:
            if (start <= tod < end) if start < end else (tod >= start or tod < end):
                return self.inside  # inside a range
        return not self.inside

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


class _Schedule:
    """Memo for one (zones, constraints): boundary times, candidate change points, and status.

    Change points are UTC instants; whether everything holds at one is a pure function of the
    instant, and the candidate set of a search depends only on local dates and years (see
    ``_change_points``), so remembering both changes nothing but speed. The memos are bounded.
    """

    __slots__ = ("bounds", "constraints", "found", "memo", "soonest", "tzs", "zones")

    def __init__(self, zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> None:
        self.zones = zones
        self.constraints = constraints
        self.tzs = tuple(_zone(name) for name in zones)
        self.bounds = tuple(sorted({b for c in constraints for b in c.boundaries}))
        self.memo: dict[datetime, bool] = {}
        self.found: dict[_SpanKey, tuple[tuple[datetime, ...], tuple[bool, ...]]] = {}
        self.soonest: dict[tuple[datetime, int, int], datetime | None] = {}

    def holds(self, t: datetime) -> bool:
        """``holds(t, zones, constraints)``."""
        for zone in self.tzs:
            local = t.astimezone(zone)
            for c in self.constraints:
                if not c.ok(local):
                    return False
        return True

    def holds_at(self, point: datetime) -> bool:
        """``holds`` at a change point (a UTC instant)."""
        memo = self.memo
        found = memo.get(point)
        if found is None:
            found = self.holds(point)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[point] = found
        return found

    def window(
        self, lo: datetime, hi: datetime
    ) -> tuple[tuple[datetime, ...], tuple[bool, ...], int, int]:
        """Change points with lo < p <= hi as ``points[i:j]``, and whether each holds."""
        key = (
            tuple((lo.astimezone(zone).date(), hi.astimezone(zone).date()) for zone in self.tzs),
            lo.year,
            hi.year,
        )
        entry = self.found.get(key)
        if entry is None:
            points = _candidates(self.zones, self.bounds, *key)
            entry = (points, tuple(self.holds_at(p) for p in points))
            if len(self.found) >= _SPANS_SIZE:
                self.found.clear()
            self.found[key] = entry
        points, oks = entry
        return points, oks, bisect_right(points, lo), bisect_right(points, hi)


_SpanKey = tuple[tuple[tuple[date, date], ...], int, int]
# Bounds: per schedule, instants remembered and candidate sets kept; schedules kept overall.
_MEMO_SIZE = 4096
_SPANS_SIZE = 256


@lru_cache(maxsize=128)
def _schedule(zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> _Schedule:
    return _Schedule(zones, constraints)


@lru_cache(maxsize=65536)
def _day_points(name: str, day: date, bounds: tuple[time, ...]) -> tuple[datetime, ...]:
    """UTC instants of every boundary local time on one local date in one zone."""
    zone = _zone(name)
    # Both folds near a DST change: a boundary in the repeated hour happens twice.
    folds = (0, 1) if day in _transition_days(name, day.year) else (0,)
    return tuple(
        datetime.combine(day, b, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        for b in bounds
        for fold in folds
    )


def _change_points(plan: _Schedule, lo: datetime, hi: datetime) -> list[datetime]:
    """Sorted instants p with lo < p <= hi where some constraint may change status.

    They are the boundary local times on every local date from the day before ``lo`` to the day
    after ``hi`` in each zone, and the zone's offset changes in the years ``lo.year`` to
    ``hi.year``; that candidate set depends only on those dates and years, so it is built once
    (sorted, as UTC instants) and cut to (lo, hi] by bisection.
    """
    points, _, i, j = plan.window(lo, hi)
    return list(points[i:j])


@lru_cache(maxsize=4096)
def _candidates(
    zones: tuple[str, ...],
    bounds: tuple[time, ...],
    spans: tuple[tuple[date, date], ...],
    first_year: int,
    last_year: int,
) -> tuple[datetime, ...]:
    points: set[datetime] = set()
    for name, (first, last) in zip(zones, spans, strict=True):
        day = first - _DAY
        while day <= last + _DAY:
            points.update(_day_points(name, day, bounds))
            day += _DAY
        # A boundary that falls in a spring-forward gap takes effect at the transition itself.
        for year in range(first_year, last_year + 1):
            points.update(_transitions(name, year))
    return tuple(sorted(points))


def earliest(
    t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]
) -> datetime | None:
    """The earliest instant >= t at which every constraint holds in every zone; None if > HORIZON."""
    return _earliest(t, _schedule(zones, constraints))


def _earliest(t: datetime, plan: _Schedule) -> datetime | None:
    # The answer depends on t's value and its tzinfo (the result is expressed in it): the key holds
    # t, which keeps its tzinfo alive, so an equal id is the same tzinfo object; same-tzinfo
    # equality compares wall time, so with the fold too the key pins t exactly.
    key = (t, id(t.tzinfo), t.fold)
    memo = plan.soonest
    if key in memo:
        return memo[key]
    found = _search(t, plan)
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = found
    return found


def _search(t: datetime, plan: _Schedule) -> datetime | None:
    if plan.holds(t):
        return t
    lo = t
    step = timedelta(days=2)
    while lo < t + HORIZON:
        hi = min(lo + step, t + HORIZON)
        points, oks, i, j = plan.window(lo, hi)
        for k in range(i, j):
            if oks[k]:
                return points[k].astimezone(t.tzinfo)
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
    plan = _schedule(zones, constraints)
    start = _earliest(t, plan)
    if start is None:
        return None, None
    opens: datetime | None = start
    if start == t:
        # Status is constant between change points, so the run holding t began at the earliest
        # of the trailing points that all hold.
        opens = None
        for point in reversed(_change_points(plan, t - 2 * _DAY, t)):
            if not plan.holds_at(point):
                break
            opens = point
        else:
            opens = None
    closes = next(
        (p for p in _change_points(plan, start, start + 2 * _DAY) if not plan.holds_at(p)),
        None,
    )
    tz = t.tzinfo
    return (
        None if opens is None else opens.astimezone(tz),
        None if closes is None else closes.astimezone(tz),
    )
