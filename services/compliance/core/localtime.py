"""Local wall-clock constraints evaluated at every candidate zone, DST-correct via zoneinfo.

A constraint holds or not as a function of local time (or local date) in each zone. Its status
can only change at a *change point*: a boundary local time on some local date in some zone, or a
DST transition. So the earliest allowed instant at or after ``t`` is ``t`` itself or the first
change point after it at which everything holds: exact, with no stepping through minutes.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic_core import TzInfo

_DAY = timedelta(days=1)
_TWO_DAYS = timedelta(days=2)
_WEEK = timedelta(days=7)
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


zone = _zone  # the one ZoneInfo object per name that every conversion here uses


def loadable_zone(name: str) -> bool:
    """Whether zoneinfo can load ``name``. A declared zone that cannot be loaded is ignored
    wherever a zone is looked up: the ledger may hold one written before incoming zones were
    checked, and it must not break every later decision for that person (P5, P6). A pack's
    zone that cannot be loaded is refused when the pack loads."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local(t: datetime, tz: ZoneInfo) -> datetime:
    """``t.astimezone(tz)``, remembered: one decision converts the same instants many times."""
    tzinfo = t.tzinfo
    if tzinfo is tz:
        return t  # what astimezone returns, unconverted
    return _converted(id(tzinfo), t.fold, t, tz)  # keyed by stamp(t)


# A raw search answer: t itself (``_SELF``), a change point after it (a UTC instant), or None.
_SELF = "self"
_Raw = datetime | str | None
InstantKey = tuple[object, int, datetime]


def instant_key(t: datetime) -> InstantKey:
    """A memo key for the searches here: ``stamp(t)``, except with pydantic's fixed-offset
    ``TzInfo``, which each parsed datetime carries as an object of its own; then the offset,
    fold and wall time, so that equal instants parsed apart share entries. Either pins all the
    searches read of t: its instant, and the wall clock of its own offset (years near it)."""
    tz = t.tzinfo
    if type(tz) is not TzInfo:
        return id(tz), t.fold, t
    last = _LAST_KEY  # one decision asks for its instant's key several times
    if last[0] is t:
        return last[1]
    key = tz.utcoffset(t), t.fold, t.replace(tzinfo=None)
    _remember_key(t, key)
    return key


def _remember_key(t: datetime, key: InstantKey) -> None:
    global _LAST_KEY  # noqa: PLW0603 - a one-entry memo; the entry keeps t alive for ``is``
    _LAST_KEY = (t, key)


_LAST_KEY: tuple[datetime | None, InstantKey] = (None, (0, 0, datetime.min))


def shared(t: datetime | None) -> bool:
    """Whether answers expressed in t's tzinfo are worth remembering: not with pydantic's
    ``TzInfo``, an object of each parsed datetime's own, so never the same again."""
    return t is None or type(t.tzinfo) is not TzInfo


# One tzinfo object per fixed UTC offset, for ``shareable``.
_OFFSETS: dict[timedelta, timezone] = {timedelta(0): UTC}


def shareable(t: datetime) -> datetime:
    """The same instant and offset with a tzinfo the memos here can key on: pydantic's
    ``TzInfo`` (of every datetime read from JSON, an object of its own each) becomes the one
    ``datetime.timezone`` of its offset, UTC for zero. Any other tzinfo is kept. The clock of a
    decision read from the log (an upstream event's time, a recorded entry's) otherwise misses
    every memo: the gate then does all its work again for every decision. Same JSON either way.
    """
    tz = t.tzinfo
    if type(tz) is not TzInfo:
        return t
    offset = tz.utcoffset(None)  # a TzInfo is a fixed offset: the same at every instant
    assert offset is not None
    shared = _OFFSETS.get(offset)
    if shared is None:
        shared = _OFFSETS.setdefault(offset, timezone(offset))
    if not t.fold:  # astimezone gives fold 0 (meaningless for a fixed offset, but kept)
        try:
            # To the same offset: the same wall time, and half the cost of replace(tzinfo=...).
            return t.astimezone(shared)
        except OverflowError:  # within a day of datetime's ends, the step through UTC overflows
            pass
    return t.replace(tzinfo=shared)


def stamp(t: datetime) -> tuple[int, int, datetime]:
    """A memo key that pins ``t`` exactly: its tzinfo (kept alive by the key, so the id is not
    reused), fold and value (with one tzinfo, equality compares wall times). Comparing the id
    first keeps lookups cheap: datetimes with different tzinfo objects compare by converting."""
    return id(t.tzinfo), t.fold, t


@lru_cache(maxsize=65536)
def _converted(_tz: int, _fold: int, t: datetime, tz: ZoneInfo) -> datetime:
    return t.astimezone(tz)


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


def forget() -> None:
    """Drop the memos of instants and schedules (zone and holiday data stay)."""
    _converted.cache_clear()
    _schedule.cache_clear()
    _candidates.cache_clear()


def holds(t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> bool:
    return all(c.ok(t.astimezone(_zone(z))) for z in zones for c in constraints)


class Schedule:
    """Memo for one (zones, constraints): boundary times, candidate change points, and status.

    Change points are UTC instants; whether everything holds at one is a pure function of the
    instant, and the candidate set of a search depends only on local dates and years (see
    ``_change_points``), so remembering both changes nothing but speed. The memos are bounded.
    """

    __slots__ = ("bounds", "constraints", "found", "memo", "runs", "soonest", "tzs", "zones")

    def __init__(self, zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> None:
        self.zones = zones
        self.constraints = constraints
        self.tzs = tuple(_zone(name) for name in zones)
        self.bounds = tuple(sorted({b for c in constraints for b in c.boundaries}))
        self.memo: dict[datetime, bool] = {}
        self.found: dict[_SpanKey, tuple[tuple[datetime, ...], tuple[bool, ...]]] = {}
        self.soonest: dict[InstantKey, _Raw] = {}
        self.runs: dict[InstantKey, tuple[datetime | None, datetime | None]] = {}

    def earliest(self, t: datetime) -> datetime | None:
        """``earliest(t, zones, constraints)``."""
        return _earliest(t, self)

    def earliest_raw(self, t: datetime) -> datetime | str | None:
        """``earliest`` before it is expressed in t's tzinfo: ``"self"`` for t itself, else a
        UTC instant, or None."""
        return _earliest_raw(t, self)

    def interval(self, t: datetime) -> tuple[datetime | None, datetime | None]:
        """``interval(t, zones, constraints)`` for non-empty zones and constraints."""
        key = instant_key(t)
        memo = self.runs
        found = memo.get(key)
        if found is None:
            found = _interval(t, self)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = found
        opens, closes = found  # UTC instants, expressed in t's tzinfo as they are returned
        tz = t.tzinfo
        return (
            None if opens is None else opens.astimezone(tz),
            None if closes is None else closes.astimezone(tz),
        )

    def holds(self, t: datetime) -> bool:
        """``holds(t, zones, constraints)``."""
        for tz in self.tzs:
            there = local(t, tz)
            for c in self.constraints:
                if not c.ok(there):
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
            tuple((local(lo, tz).date(), local(hi, tz).date()) for tz in self.tzs),
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
        # The points are UTC instants: comparing them with lo and hi in UTC gives the same
        # answers as comparing across tzinfos, which converts every time.
        return (
            points,
            oks,
            bisect_right(points, lo.astimezone(UTC)),
            bisect_right(points, hi.astimezone(UTC)),
        )


_SpanKey = tuple[tuple[tuple[date, date], ...], int, int]
# Bounds: per schedule, instants remembered and candidate sets kept; schedules kept overall.
_MEMO_SIZE = 4096
_SPANS_SIZE = 256


@lru_cache(maxsize=128)
def _schedule(zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> Schedule:
    return Schedule(zones, constraints)


def schedule(zones: tuple[str, ...], constraints: tuple[Constraint, ...]) -> Schedule:
    """The memo for one (zones, constraints); callers may keep it to skip the lookup."""
    return _schedule(zones, constraints)


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


def _change_points(plan: Schedule, lo: datetime, hi: datetime) -> list[datetime]:
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


def _earliest(t: datetime, plan: Schedule) -> datetime | None:
    found = _earliest_raw(t, plan)
    if isinstance(found, datetime):
        return found.astimezone(t.tzinfo)
    return t if found is _SELF else None


def _earliest_raw(t: datetime, plan: Schedule) -> _Raw:
    key = instant_key(t)
    memo = plan.soonest
    if key in memo:
        return memo[key]
    found = _search(t, plan)
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = found
    return found


def _search(t: datetime, plan: Schedule) -> _Raw:
    """``_SELF`` if everything holds at t, else the first change point after t (a UTC instant)
    at which it does, or None beyond the horizon."""
    if plan.holds(t):
        return _SELF
    lo, end = t, t + HORIZON
    step = _TWO_DAYS
    while lo < end:
        hi = min(lo + step, end)
        points, oks, i, j = plan.window(lo, hi)
        for k in range(i, j):
            if oks[k]:
                return points[k]
        lo = hi
        step = _WEEK
    return None


def interval(
    t: datetime, zones: tuple[str, ...], constraints: tuple[Constraint, ...]
) -> tuple[datetime | None, datetime | None]:
    """The allowed interval containing t, or else the next one: (opens_at, closes_at).

    None at an end means unbounded within two days of search (e.g. nothing constrains the time).
    """
    if not constraints or not zones:
        return None, None
    return _schedule(zones, constraints).interval(t)


def _interval(t: datetime, plan: Schedule) -> tuple[datetime | None, datetime | None]:
    """``interval`` as UTC instants (change points)."""
    found = _earliest_raw(t, plan)
    if found is None:
        return None, None
    opens: datetime | None
    if not isinstance(found, datetime):  # _SELF
        start = t
        # Status is constant between change points, so the run holding t began at the earliest
        # of the trailing points that all hold.
        opens = None
        for point in reversed(_change_points(plan, t - _TWO_DAYS, t)):
            if not plan.holds_at(point):
                break
            opens = point
        else:
            opens = None
    else:
        start = found.astimezone(t.tzinfo)  # a change point after t: the next run opens there
        opens = found
    closes = next(
        (p for p in _change_points(plan, start, start + _TWO_DAYS) if not plan.holds_at(p)),
        None,
    )
    return opens, closes
