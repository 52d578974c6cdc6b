"""One evaluation's working state, and the outcomes it collects (shared where they repeat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from contracts.decisions import RuleOutcome
from contracts.values import Channel
from services.compliance.core import consent, counters, localtime, schema
from services.compliance.core.model import AttemptRecord, GateInput

TIMED = frozenset({Channel.CALL, Channel.SMS, Channel.EMAIL})
Clear = Callable[[datetime], datetime | None]  # earliest instant >= t at which a rule clears
Effect = Literal["pass", "suppress", "defer"]


@lru_cache(maxsize=8192)
def outcome(rule_id: str, effect: Effect, detail: str = "") -> RuleOutcome:
    """Outcomes without an instant repeat across decisions; they are frozen, so one is shared."""
    return RuleOutcome(rule_id=rule_id, effect=effect, detail=detail, until=None)


def deferred(rule_id: str, detail: str, until: datetime) -> RuleOutcome:
    """A deferral; many share their instant (the next opening of a window), so one is shared.

    Keyed by ``localtime.stamp(until)``: an equal key is an identical datetime.
    """
    if not localtime.shared(until):
        return RuleOutcome(rule_id=rule_id, effect="defer", detail=detail, until=until)
    key = (rule_id, detail, id(until.tzinfo), until.fold, until)  # with localtime.stamp(until)
    found = _DEFERRED.get(key)
    if found is None:
        if len(_DEFERRED) >= _DEFERRED_SIZE:
            _DEFERRED.clear()
        found = RuleOutcome(rule_id=rule_id, effect="defer", detail=detail, until=until)
        _DEFERRED[key] = found
    return found


_DEFERRED: dict[tuple[str, str, int, int, datetime], RuleOutcome] = {}
_DEFERRED_SIZE = 8192


def forget() -> None:
    outcome.cache_clear()
    _DEFERRED.clear()


class Run:
    """One evaluation's working state: outcomes so far, counts read and clear-time functions."""

    __slots__ = (
        "_kinds",
        "_locals",
        "_recent",
        "active",
        "at",
        "attempts",
        "clears",
        "counts",
        "dest",
        "exempt",
        "flagged",
        "inp",
        "ledger",
        "local",
        "outcomes",
        "stated",
        "zones",
    )

    def __init__(
        self,
        inp: GateInput,
        zones: tuple[str, ...],
        ledger: consent.Ledger,
        active: tuple[str, ...],
    ) -> None:
        self.inp = inp
        self.at = inp.intent.at
        self.attempts = inp.attempts
        self.zones = zones
        self.ledger = ledger
        self.active = active  # holds.active_holds(inp)
        self.dest = counters.dest_type(inp.party, inp.intent.to)
        self.exempt = False  # TC-4: an opt-out confirmation inside its allowance
        self.outcomes: list[RuleOutcome] = []
        self.flagged: list[RuleOutcome] = []  # the outcomes that suppress or defer
        self.counts: dict[str, int] = {}
        self.clears: list[Clear] = []
        self.local: list[localtime.Constraint] = []
        self.stated = False  # whether a stated-times constraint is among ``local``
        self._kinds: dict[tuple[str, timedelta], list[AttemptRecord]] = {}
        self._recent: dict[timedelta, list[AttemptRecord]] = {}
        self._locals: tuple[datetime, ...] | None = None

    def flag(self, found: RuleOutcome) -> None:
        """Add an outcome that suppresses or defers."""
        self.outcomes.append(found)
        self.flagged.append(found)

    def holds(self, constraint: localtime.Constraint) -> bool:
        """``localtime.holds(at, zones, (constraint,))``, converting ``at`` once per zone."""
        locals_ = self._locals
        if locals_ is None:
            at = self.at
            locals_ = tuple(localtime.local(at, localtime.zone(z)) for z in self.zones)
            self._locals = locals_
        return all(constraint.ok(there) for there in locals_)

    def counted(
        self,
        per: schema.Per,
        name: str,
        sets: counters.KindSets,
        reach: timedelta,
        *,
        shared: bool = False,
    ) -> list[AttemptRecord]:
        """The attempts of a kind in a rule's scope, in history order, leaving out those more
        than ``reach`` before ``at`` (see ``counters.reach``); each filter is made once."""
        key = (name, reach)
        found = self._kinds.get(key)
        if found is None:
            recent = self._recent.get(reach)
            if recent is None:
                cutoff = self.at - reach
                recent = self._recent[reach] = [a for a in self.attempts if a.at > cutoff]
            found = self._kinds[key] = counters.of_kind(sets, recent)
        mine = counters.scoped(per, found, self.inp.intent)
        if not shared or not self.inp.number_attempts:
            return mine
        # Per number, shared: the dials to it for anyone else on file count too (CN-4).
        cutoff = self.at - reach
        others = [a for a in self.inp.number_attempts if a.at > cutoff]
        theirs = counters.scoped(per, counters.of_kind(sets, others), self.inp.intent)
        return sorted((*mine, *theirs), key=lambda a: a.at) if theirs else mine


Step = Callable[[Run], None]  # one or more rules of a plan, adding their outcomes to a run
