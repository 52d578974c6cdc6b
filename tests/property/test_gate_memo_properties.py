"""Property tests: what the gate remembers across decisions never changes a decision.

Random people, histories, consent ledgers and intents (``scenarios``) are decided at a few nearby
instants with warm memos, then again after forgetting everything, in the other order; and with
every datetime as pydantic parses it (a fixed-offset object per datetime, as read from a ledger).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.compliance.core import GateInput, evaluate
from services.compliance.core.gate import clear_caches
from tests.property.test_gate_properties import POLICY, scenarios
from tests.unit.compliance.gate_builders import instants, moved, reparsed

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _probes(inp: GateInput, minutes: list[int]) -> list[GateInput]:
    return [inp, *(moved(inp, inp.intent.at + timedelta(minutes=m)) for m in minutes)]


@SETTINGS
@given(scenarios(), st.lists(st.integers(-24 * 60, 3 * 24 * 60), max_size=3))
def test_remembered_answers_are_the_answers(inp: GateInput, minutes: list[int]) -> None:
    """From warm memos and from none, in either order, every decision is the same."""
    probes = _probes(inp, minutes)

    warm = [evaluate(p, POLICY) for p in probes]
    clear_caches()
    cold = [evaluate(p, POLICY) for p in reversed(probes)][::-1]

    assert [repr(r) for r in cold] == [repr(r) for r in warm]


@SETTINGS
@given(scenarios(), st.lists(st.integers(-24 * 60, 3 * 24 * 60), max_size=3))
def test_parsed_datetimes_decide_alike(inp: GateInput, minutes: list[int]) -> None:
    """Datetimes parsed apart (one offset object each) decide as the originals, each result in
    its own intent's tzinfo object."""
    for probe in _probes(inp, minutes):
        want = evaluate(probe, POLICY)
        one, two = reparsed(probe), reparsed(probe)

        first, second = evaluate(one, POLICY), evaluate(two, POLICY)

        assert first == want
        assert second == want
        assert [t.isoformat() for t in instants(first)] == [t.isoformat() for t in instants(want)]
        assert all(t.tzinfo is one.intent.at.tzinfo for t in instants(first))
        assert all(t.tzinfo is two.intent.at.tzinfo for t in instants(second))
