"""Folding the ledger in several processes, one share of its partitions each.

All of a borrower's entries share a partition and the fold keeps nothing across borrowers but
what ``Auditor.merge`` combines, so partitions are independent: each process reads its own
partitions from the broker, folds them, and hands back what it found. Each process also checks
that every entry it reads sits on its borrower's partition, so that independence is verified,
not assumed. The parent folds the first share itself while the others start: forked where that
is safe, since a fork starts at once (ADR 0009).
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import signal
import sys
import threading
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
from services.audit.core.report import Finding
from services.compliance.core import Policy
from services.compliance.core.registry import policy_from_document
from services.orchestrator.context import context_factory
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.logreader import read_all

# A spawned process needs most of a second to start Python and import Parley, in which time the
# parent, already running, folds a few thousand entries: a spawned child starts that far behind
# (measured with bench/audit.py on a 2-vCPU machine), and below this many entries one process is
# quicker. A forked child starts at once; it is worth its fork, its connection to the broker and
# sending back what it found from about a thousand entries.
HEAD_START = {"fork": 0, "spawn": 4_000}
MIN_ENTRIES_PER_PROCESS = {"fork": 1_000, "spawn": 5_000}


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
    recorded = [
        (f"partition {r.partition} offset {r.offset}", r.value)
        async for r in read_all(job.bootstrap, job.topics.policies, everything)
    ]
    policies, unreadable = read_policies(recorded)
    rederive = Rederive(*context_factory(job.settings)) if job.rederive else None
    shadow = policy_from_document(job.shadow) if job.shadow is not None else None
    auditor = Auditor(policies, shadow, job.partitions, rederive=rederive)
    if 0 in job.mine:  # every process reads the policies: one of them reports what it found
        for where, problem in unreadable:
            auditor.report.findings.append(
                Finding("unverifiable", "unreadable_policy", "", f"{where}: {problem}")
            )
    with long_lived_heap():
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


def read_policies(
    recorded: list[tuple[str, bytes | None]],
) -> tuple[dict[str, Policy], list[tuple[str, str]]]:
    """The recorded policy documents by version, and (where, problem) for each one that does
    not read back or does not hash to its version. One bad record must not end the audit: the
    entries decided under it are reported unverifiable (unknown policy version) and the rest
    of the log is still checked."""
    policies: dict[str, Policy] = {}
    unreadable: list[tuple[str, str]] = []
    for where, value in recorded:
        try:
            policy = policy_from_document(json.loads(value or b""))
        except (ValueError, AttributeError) as exc:  # JSON, PolicyError; a document not a dict
            unreadable.append((where, str(exc).splitlines()[0][:300]))
            continue
        policies[policy.version] = policy
    return policies, unreadable


_folding = [0]  # folds under way in this process


@contextmanager
def long_lived_heap() -> Iterator[None]:
    """Collect cycles less often while folding, and until what the fold found is handed on. The
    fold allocates many short-lived objects and keeps every borrower's state to the end, so at
    the default thresholds the collector kept re-examining state that cannot be garbage (about a
    tenth of the fold's time), and a full collection set off by pickling a child's part took a
    tenth of a second. Nothing here makes cycles the collector is needed for; the thresholds are
    restored after."""
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


def start_method() -> str:
    """How children start: forked where that is safe, spawned otherwise.

    A forked child starts at once, sharing the parent's imports; a spawned one starts a new
    interpreter and imports Parley again, most of a second of a core that the folds need (ADR
    0009). Forking copies only the calling thread, so a lock another thread holds stays held in
    the child for ever: fork only on Linux (macOS's system libraries do not survive it) and while
    this process has no other thread. ``run_audit`` therefore forks before it opens a connection.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _fold_in_child(
    jobs: Connection, results: Connection, parents_ends: tuple[Connection, ...]
) -> None:
    # A forked child starts with a copy of every descriptor, its own pipes' parent ends too.
    # Holding those, it would never see EOF when the parent dies, and would wait for ever.
    for end in parents_ends:
        end.close()
    # A forked child inherits the parent's signal handlers and the wake-up descriptor of its
    # event loop: a signal here must neither run the parent's handlers nor wake its loop. Ctrl-C
    # reaches the parent too, which stops every child.
    if threading.current_thread() is threading.main_thread():
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        job = jobs.recv()
    except EOFError:  # the parent is gone, or gave up before dealing the partitions
        results.close()
        return
    except Exception as exc:  # a job that does not unpickle: say so
        job = exc
    finally:
        jobs.close()
    if job is None:  # nothing worth a process: the ledger turned out small
        results.close()
        return
    _exit_with_parent()
    try:
        if isinstance(job, Exception):
            raise job
        with long_lived_heap():  # pickling the part must not set off a scan of the whole fold
            auditor = asyncio.run(fold(job))
            results.send(auditor.part())
    except BaseException as exc:  # the parent raises it again: nothing is lost on the way
        try:
            results.send(exc)
        except Exception:  # an exception that does not pickle: send what it said
            results.send(RuntimeError("".join(traceback.format_exception(exc))))
        raise
    finally:
        results.close()


def _exit_with_parent() -> None:
    """Stop folding if the parent dies (killed, so that it could not stop its children): what
    the child found would go nowhere. A watcher thread waits on the parent's sentinel, which
    multiprocessing makes for every child, forked or spawned."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns once the parent has exited
        os._exit(1)

    threading.Thread(target=watch, name="audit-parent-watch", daemon=True).start()


class Child:
    """A process that folds the share of the partitions it is given (``give``), and hands back
    what it found (``part``). It may be started before the shares are known."""

    def __init__(self, method: str) -> None:
        context = (
            multiprocessing.get_context("fork")
            if method == "fork"
            else multiprocessing.get_context("spawn")
        )
        receiving, self._jobs = context.Pipe(duplex=False)
        self._results, sending = context.Pipe(duplex=False)
        # A forked child closes its copies of the parent's ends (_fold_in_child); a spawned one
        # never has them. Each child forked later holds copies of the earlier children's
        # parent ends, but the last one holds none of its own, so when the parent dies the last
        # child sees EOF and exits, releasing those copies, and the others follow in turn.
        parents_ends = (self._jobs, self._results) if method == "fork" else ()
        self._process = context.Process(
            target=_fold_in_child, args=(receiving, sending, parents_ends), daemon=True
        )
        self._process.start()
        receiving.close()
        sending.close()  # the child holds the only sending end: EOF if it dies

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def give(self, job: AuditJob | None) -> None:
        """This child's job, or None to let it go; a child that died is reported by ``part``."""
        try:
            self._jobs.send(job)
        except OSError:
            pass
        finally:
            self._jobs.close()

    async def part(self) -> LedgerPart:
        await _readable(self._results)
        try:
            result = self._results.recv()  # the child sends it whole: the rest follows at once
        except EOFError:
            raise RuntimeError(
                f"audit worker exited ({self._process.exitcode}) without a result"
            ) from None
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, LedgerPart)
        return result

    def stop(self) -> None:
        if not self._jobs.closed:
            self._jobs.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._results.close()


async def _readable(conn: Connection) -> None:
    """Wait on the event loop, not in a thread: a thread left behind would stop the next audit
    in this process from forking (``start_method``)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def available_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def processes_for(entries: int, partitions: int, cores: int, min_entries: int = 5_000) -> int:
    """How many processes fold a ledger of ``entries`` entries: one per core, never more than
    there are partitions, and only as many as the ledger is worth starting (``min_entries``
    each)."""
    return max(1, min(cores, partitions, entries // min_entries))


def processes_to_use(
    entries: int, partitions: int, cores: int, method: str, asked: int | None = None
) -> int:
    """How many processes ``run_audit`` folds with: ``asked`` (at most one per partition), or
    as many as ``processes_for`` finds the ledger worth, children started by ``method``."""
    if asked is not None:
        return max(1, min(asked, partitions))
    return processes_for(entries, partitions, cores, MIN_ENTRIES_PER_PROCESS[method])


def shares(sizes: Mapping[int, int], processes: int, head_start: int) -> list[frozenset[int]]:
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
