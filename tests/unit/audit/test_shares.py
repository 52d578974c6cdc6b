"""How the ledger's partitions are dealt to the processes that fold them."""

from __future__ import annotations

import sys
import threading

import pytest

from services.audit import shards
from services.audit.shards import processes_for, shares


def test_every_partition_is_dealt_exactly_once() -> None:
    sizes = {p: 1000 + 37 * p for p in range(12)}

    dealt = shares(sizes, 3, head_start=2000)

    assert sorted(p for share in dealt for p in share) == list(range(12))


def test_without_a_head_start_equal_partitions_are_dealt_evenly() -> None:
    dealt = shares({0: 500, 1: 500, 2: 500, 3: 500}, 2, head_start=0)

    assert [len(share) for share in dealt] == [2, 2]


def test_a_child_that_starts_late_gets_less_to_fold() -> None:
    """The parent folds while a child starts: with a child's start worth two partitions, the
    parent takes three of four."""
    dealt = shares({0: 1000, 1: 1000, 2: 1000, 3: 1000}, 2, head_start=2000)

    assert [len(share) for share in dealt] == [3, 1]


def test_a_ledger_too_small_for_a_child_leaves_its_share_empty() -> None:
    dealt = shares({0: 100, 1: 90}, 2, head_start=4000)

    assert dealt == [frozenset({0, 1}), frozenset()]


def test_the_largest_partitions_are_dealt_first() -> None:
    dealt = shares({0: 10, 1: 5000, 2: 20, 3: 4990}, 2, head_start=0)

    assert dealt == [frozenset({1, 0}), frozenset({3, 2})]


def test_one_process_per_core_only_when_the_ledger_is_worth_it() -> None:
    assert processes_for(entries=100, partitions=4, cores=2) == 1
    assert processes_for(entries=200_000, partitions=4, cores=2) == 2
    assert processes_for(entries=200_000, partitions=1, cores=8) == 1


def test_children_fork_only_on_linux_with_no_other_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork copies only the calling thread: a lock another thread holds would stay held in
    the child for ever (ADR 0009)."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert shards.start_method() == "fork"

    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert shards.start_method() == "spawn"

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert shards.start_method() == "spawn"


def test_a_forked_child_starts_level_with_the_parent() -> None:
    assert shards.HEAD_START["fork"] == 0
    dealt = shares({0: 1000, 1: 1000, 2: 1000, 3: 1000}, 2, shards.HEAD_START["fork"])
    assert [len(share) for share in dealt] == [2, 2]
