"""The audit's copy of a borrower's state: equal to it, and sharing nothing that can change."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from services.audit.core.snapshot import snapshot
from services.orchestrator.core.state import BorrowerState
from tests.unit.audit.ledgers import audit, portfolio


def _mutable_parts(value: Any) -> Iterator[Any]:
    """Every mutable object reachable from ``value`` (frozen models and records are not)."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _mutable_parts(v)
    elif isinstance(value, list | set):
        yield value
        for v in value:
            yield from _mutable_parts(v)
    elif isinstance(value, tuple):
        for v in value:
            yield from _mutable_parts(v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            yield value
        for f in dataclasses.fields(value):
            yield from _mutable_parts(getattr(value, f.name))
    elif isinstance(value, BaseModel) and not value.model_config.get("frozen"):
        yield value


def _states() -> list[BorrowerState]:
    return list(audit(portfolio(borrowers=16, days=10)).states.values())


def test_a_snapshot_equals_the_state_and_shares_nothing_mutable() -> None:
    for state in _states():
        copy = snapshot(state)

        assert copy == state
        shared = {id(x) for x in _mutable_parts(state)} & {id(x) for x in _mutable_parts(copy)}
        assert not shared, state.borrower_id


def test_frozen_values_are_shared_not_copied() -> None:
    state = next(s for s in _states() if any(p.phones for p in s.parties.values()))
    party = next(p for p in state.parties.values() if p.phones)

    copied = snapshot(state).parties[party.party_id]

    assert copied is not party
    assert copied.phones is party.phones  # a tuple of frozen models


def test_a_value_of_a_kind_it_does_not_know_is_deep_copied() -> None:
    class Bag:
        def __init__(self) -> None:
            self.items: list[int] = [1]

    bag = Bag()
    copy = snapshot({"bag": bag})

    assert copy["bag"] is not bag
    assert copy["bag"].items == [1]
    assert copy["bag"].items is not bag.items


@dataclasses.dataclass(slots=True)
class _Node:
    name: str
    next: _Node | None = None
    tags: list[str] = dataclasses.field(default_factory=list)


def test_a_class_that_refers_to_itself_is_copied_all_the_way_down() -> None:
    chain = _Node("a", _Node("b", tags=["x"]))

    copy = snapshot(chain)

    assert copy == chain
    assert copy.next is not chain.next
    assert copy.next is not None
    assert chain.next is not None
    assert copy.next.tags is not chain.next.tags
