"""The gate remembers plans and answers across decisions; none of that may change a decision.

The seeded cases of ``test_gate_stable`` are decided with every memo forgotten, and again from
warm memos; then with their datetimes as pydantic parses them (an offset object per datetime, as
the audit reads a ledger), which must decide the same instants the same way and express every
instant in the intent's own tzinfo object.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from contracts.decisions import Verdict
from services.compliance.core import evaluate, load_policy
from services.compliance.core.gate import clear_caches
from services.compliance.core.localtime import shareable
from tests.unit.compliance.gate_builders import (
    ET,
    attempt,
    decide,
    fixed_offsets_only,
    instants,
    parsed,
    reparsed,
)
from tests.unit.compliance.test_gate_stable import cases, results


def test_decisions_do_not_depend_on_what_is_remembered() -> None:
    """P5: decided from empty memos, then from warm ones in another order: identical."""
    work = cases()[:1500]
    clear_caches()

    cold = results(work)
    warm = list(reversed(results(list(reversed(work)))))
    clear_caches()
    cold_again = results(work)

    assert [repr(r) for r in warm] == [repr(r) for r in cold]
    assert [repr(r) for r in cold_again] == [repr(r) for r in cold]


def test_parsed_datetimes_decide_like_the_instants_they_are() -> None:
    """Pydantic's per-datetime offset objects decide as datetime.timezone does, each result in
    its own intent's tzinfo object, though the parses of one instant share remembered answers."""
    work = [(inp, policy) for inp, policy in cases()[:1500] if fixed_offsets_only(inp)]
    expected = results(work)
    first = [(reparsed(inp), policy) for inp, policy in work]
    second = [(reparsed(inp), policy) for inp, policy in work]

    found = [(evaluate(a, p), evaluate(b, p)) for (a, p), (b, _) in zip(first, second, strict=True)]

    assert len(work) > 500
    for (one, two), want, (a, _), (b, _) in zip(found, expected, first, second, strict=True):
        assert one == want
        assert two == want
        assert [t.isoformat() for t in instants(one)] == [t.isoformat() for t in instants(want)]
        assert all(t.tzinfo is a.intent.at.tzinfo for t in instants(one))
        assert all(t.tzinfo is b.intent.at.tzinfo for t in instants(two))


def test_a_capped_counter_clears_when_its_oldest_attempt_leaves() -> None:
    """RF-1 at its cap defers to the instant the oldest of the last seven placed calls is seven
    days old, however much older history there is (older attempts cannot count again)."""
    recent = tuple(attempt(datetime(2026, 4, d, 10, tzinfo=ET)) for d in range(8, 15))
    older = tuple(attempt(datetime(2026, 3, d, 10, tzinfo=ET)) for d in range(1, 29))
    at = datetime(2026, 4, 14, 12, 0, tzinfo=ET)

    alone = decide(at, attempts=recent)
    with_older = decide(at, attempts=older + recent)

    assert alone.verdict == Verdict.DEFERRED
    assert alone.defer_until == datetime(2026, 4, 15, 10, 0, tzinfo=ET)
    assert with_older == alone


def test_each_policy_decides_by_its_own_numbers(tmp_path: Path) -> None:
    """Plans are kept per policy object: a policy that differs only by one number, decided
    between two decisions of the default, gets that number."""
    path = tmp_path / "eight.yaml"
    path.write_text("policy: eight\npacks: [us-federal]\noverrides: [{rule: RF-1, max: 8}]\n")
    recent = tuple(attempt(datetime(2026, 4, d, 10, tzinfo=ET)) for d in range(8, 15))
    at = datetime(2026, 4, 14, 12, 0, tzinfo=ET)

    before = decide(at, attempts=recent, policy=load_policy("default"))
    eight = decide(at, attempts=recent, policy=load_policy(str(path)))
    after = decide(at, attempts=recent, policy=load_policy("default"))

    assert before.verdict == after.verdict == Verdict.DEFERRED
    assert eight.verdict == Verdict.AUTHORISED
    assert eight.evidence.counts["RF-1"] == 7


def test_parsed_wall_times_in_other_offsets_are_otherinstants() -> None:
    """22:30 at +00:00 is 18:30 in Albany; 22:30 at -05:00 is 23:30 there: remembered answers
    for one must not serve the other."""
    utc = decide(parsed(datetime.fromisoformat("2026-04-14T22:30:00+00:00")))
    west = decide(parsed(datetime.fromisoformat("2026-04-14T22:30:00-05:00")))
    utc_again = decide(parsed(datetime.fromisoformat("2026-04-14T22:30:00+00:00")))

    assert utc.verdict == utc_again.verdict == Verdict.AUTHORISED
    assert west.verdict == Verdict.DEFERRED
    assert west.defer_until == datetime(2026, 4, 15, 8, 0, tzinfo=ET)
    assert west.defer_until is not None
    assert west.defer_until.isoformat() == "2026-04-15T07:00:00-05:00"


def test_a_parsed_clock_made_shareable_keeps_its_instant_offset_and_text() -> None:
    """The audit and the orchestrator make a clock read from the log shareable, so that the
    gate's memos hit; nothing a decision records may change by it."""
    for text in (
        "2026-03-04T20:30:00+00:00",
        "2026-03-04T20:30:00+08:00",
        "2026-03-04T09:00:00.123456-05:00",
        "2026-03-04T09:00:00+05:45",
        "0001-01-01T00:00:00+05:00",  # the ends of datetime's range
        "9999-12-31T23:59:59-05:00",
    ):
        one, two = parsed(datetime.fromisoformat(text)), parsed(datetime.fromisoformat(text))
        assert one.tzinfo is not two.tzinfo  # what pydantic gives: never shared

        a, b = shareable(one), shareable(two)

        assert a.tzinfo is b.tzinfo
        assert type(a.tzinfo) is timezone
        assert (a, a.utcoffset(), a.isoformat()) == (one, one.utcoffset(), one.isoformat())
    zoned = datetime(2026, 3, 4, 9, tzinfo=ET)
    assert shareable(zoned) is zoned  # a zone is kept: it is not a fixed offset


def test_a_shareable_clock_decides_as_the_parsed_one() -> None:
    work = [(inp, policy) for inp, policy in cases()[:800] if fixed_offsets_only(inp)]
    as_parsed = [(reparsed(inp), policy) for inp, policy in work]
    as_shared = [
        (
            dataclasses.replace(
                inp, intent=dataclasses.replace(inp.intent, at=shareable(inp.intent.at))
            ),
            policy,
        )
        for inp, policy in as_parsed
    ]

    for (a, p), (b, _) in zip(as_parsed, as_shared, strict=True):
        one, two = evaluate(a, p), evaluate(b, p)
        assert one == two
        assert [t.isoformat() for t in instants(one)] == [t.isoformat() for t in instants(two)]
