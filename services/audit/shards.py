"""Folding the ledger in several processes, one share of its partitions each.

All of a borrower's entries share a partition and the fold keeps nothing across borrowers but
what ``Auditor.merge`` combines, so partitions are independent: each process reads its own
partitions from the broker, folds them, and hands back what it found. Each process also checks
that every entry it reads sits on its borrower's partition, so that independence is verified,
not assumed. The parent folds the first share itself while the others start.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from events.topics import Topics
from services.audit.core.entry import first_errors, read_entry
from services.audit.core.replay import Auditor, LedgerPart, Rederive
from services.compliance.core.registry import policy_from_document
from services.orchestrator.context import context_factory
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.logreader import read_all

# A spawned process needs most of a second to start Python and import Parley, in which time the
# parent, already running, folds a few thousand entries: a child starts that far behind
# (measured with bench/audit.py on a 2-vCPU machine), and below this many entries one process is
# quicker.
CHILD_HEAD_START = 4_000
MIN_ENTRIES_PER_PROCESS = 5_000


@dataclass(frozen=True)
class AuditJob:
    """What one process needs to fold its partitions of the ledger (sent pickled to a child)."""

    bootstrap: str
    topics: Topics
    partitions: int  # of every co-partitioned topic
    settings: OrchestratorSettings
    shadow: dict[str, Any] | None  # the shadow policy as a document, or None
    mine: frozenset[int]  # the ledger partitions this process folds
    rederive: bool = False  # run the whole decision core again, not only the gate


async def fold(job: AuditJob) -> Auditor:
    """Read the recorded policies and this job's ledger partitions, and fold them."""
    everything = set(range(job.partitions))
    policies = {}
    async for record in read_all(job.bootstrap, job.topics.policies, everything):
        policy = policy_from_document(json.loads(record.value))
        policies[policy.version] = policy
    rederive = Rederive(*context_factory(job.settings)) if job.rederive else None
    shadow = policy_from_document(job.shadow) if job.shadow is not None else None
    auditor = Auditor(policies, shadow, job.partitions, rederive=rederive)
    with _long_lived_heap():
        async for record in read_all(job.bootstrap, job.topics.ledger, set(job.mine)):
            try:
                entry = read_entry(record.value)
            except ValidationError as exc:
                where = f"partition {record.partition} offset {record.offset}"
                auditor.unreadable(
                    (record.key or b"").decode(errors="replace"), where, first_errors(exc)
                )
                continue
            auditor.entry(entry, partition=record.partition)
        auditor.close()
    return auditor


_folding = [0]  # folds under way in this process


@contextmanager
def _long_lived_heap() -> Iterator[None]:
    """Collect cycles less often while folding. The fold allocates many short-lived objects and
    keeps every borrower's state to the end, so at the default thresholds the collector kept
    re-examining state that cannot be garbage (about a tenth of the fold's time). Nothing here
    makes cycles the collector is needed for; the thresholds are restored after."""
    _folding[0] += 1
    outermost = _folding[0] == 1  # folds may overlap in one event loop: the first restores
    before = gc.get_threshold()
    if outermost:
        gc.freeze()
        gc.set_threshold(20_000, 50, 50)
    try:
        yield
    finally:
        _folding[0] -= 1
        if outermost:
            gc.set_threshold(*before)
            gc.unfreeze()


def _fold_in_child(conn: Connection, job: AuditJob) -> None:
    try:
        auditor = asyncio.run(fold(job))
        conn.send(auditor.part())
    except BaseException as exc:  # the parent raises it again: nothing is lost on the way
        try:
            conn.send(exc)
        except Exception:  # an exception that does not pickle: send what it said
            conn.send(RuntimeError("".join(traceback.format_exception(exc))))
        raise
    finally:
        conn.close()


class Child:
    """A spawned process folding one share of the partitions."""

    def __init__(self, job: AuditJob) -> None:
        # spawn, not fork: the parent runs an event loop and the broker client's threads
        spawn = multiprocessing.get_context("spawn")
        self._results, sending = spawn.Pipe(duplex=False)
        self._process = spawn.Process(target=_fold_in_child, args=(sending, job), daemon=True)
        self._process.start()
        sending.close()  # the child holds the only sending end: EOF if it dies

    async def part(self) -> LedgerPart:
        try:
            result = await asyncio.to_thread(self._results.recv)
        except EOFError:
            raise RuntimeError(
                f"audit worker exited ({self._process.exitcode}) without a result"
            ) from None
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, LedgerPart)
        return result

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._results.close()


def available_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def processes_for(entries: int, partitions: int, cores: int) -> int:
    """How many processes fold a ledger of ``entries`` entries: one per core, never more than
    there are partitions, and only as many as the ledger is worth starting."""
    return max(1, min(cores, partitions, entries // MIN_ENTRIES_PER_PROCESS))


def shares(
    sizes: Mapping[int, int], processes: int, head_start: int = CHILD_HEAD_START
) -> list[frozenset[int]]:
    """Partitions dealt to ``processes`` processes so that all finish about together: the
    largest partition first, each to the process with the least to do, counting that a child
    starts ``head_start`` entries behind the parent. The parent's share is the first; a share
    may be empty when a partition is not worth a child's start."""
    load = [0] + [head_start] * (processes - 1)
    dealt: list[set[int]] = [set() for _ in range(processes)]
    for partition in sorted(sizes, key=lambda p: (-sizes[p], p)):
        k = min(range(processes), key=lambda i: (load[i], i))
        dealt[k].add(partition)
        load[k] += sizes[partition]
    return [frozenset(d) for d in dealt]


async def ledger_sizes(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """About how many entries each ledger partition holds (tansu may report a little less,
    ADR 0005)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        begins = await consumer.beginning_offsets(wanted)
        ends = await consumer.end_offsets(wanted)
        return {tp.partition: ends[tp] - begins[tp] for tp in wanted}
    finally:
        await consumer.stop()
