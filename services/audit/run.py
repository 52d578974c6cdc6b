"""`parley audit`: read the ledger, the dispatch records and the recorded policies back from the
broker and run the auditor over them. Read-only: it never sends anything (P5)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from events.topics import Topics
from services.audit.core.replay import AuditReport, read_outcome
from services.audit.shards import (
    HEAD_START,
    AuditJob,
    Child,
    available_cores,
    fold,
    ledger_sizes,
    long_lived_heap,
    processes_to_use,
    shares,
    start_method,
)
from services.compliance.core import Policy
from services.compliance.core.registry import policy_document
from services.orchestrator.context import context_factory
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.logreader import read_all

__all__ = ["context_factory", "run_audit", "write_json"]


async def run_audit(
    bootstrap: str,
    topics: Topics,
    partitions: int,
    settings: OrchestratorSettings,
    shadow: Policy | None = None,
    processes: int | None = None,
    *,
    rederive: bool = False,
) -> AuditReport:
    """Fold the ledger, then check every dispatch record against what the fold found.

    By default the fold runs in one process per core, as the ledger's size warrants, with the
    partitions dealt so that spawned children, which start later, get less. ``processes`` asks for
    exactly that many, with the partitions dealt by size alone. ``rederive`` runs the whole
    decision core again on every entry, not only the gate on every decision.
    """
    if processes is not None and processes < 1:
        raise ValueError(f"processes must be at least 1, not {processes}")
    method = start_method()
    cores = available_cores()
    most = max(1, min(cores if processes is None else processes, partitions))
    children: list[Child] = []
    with long_lived_heap():  # from the fold to the last merge and check (shards.py)
        try:
            if method == "fork":
                # Before any connection, while this process has no other thread (start_method); a
                # child not needed once the ledger's size is known is let go.
                children.extend(Child(method) for _ in range(most - 1))
            sizes = await ledger_sizes(bootstrap, topics.ledger, partitions)
            wanted = processes_to_use(sum(sizes.values()), partitions, cores, method, processes)
            # Asked for a number, the partitions are dealt by size alone.
            dealt = shares(sizes, wanted, HEAD_START[method] if processes is None else 0)
            job = AuditJob(
                bootstrap,
                topics,
                partitions,
                settings,
                policy_document(shadow) if shadow is not None else None,
                frozenset(),
                rederive,
            )
            first, *rest = dealt
            working = [share for share in rest if share]
            if method != "fork":
                children.extend(Child(method) for _ in working)
            folding = children[: len(working)]
            for child, share in zip(folding, working, strict=True):
                child.give(replace(job, mine=share))
            for child in children[len(working) :]:
                child.give(None)
            auditor = await fold(replace(job, mine=first))
            # Read while the other processes finish; check once every authorisation is known.
            read = [
                read_outcome(
                    r.value, f"{topics.outcomes} partition {r.partition} offset {r.offset}"
                )
                async for r in read_all(bootstrap, topics.outcomes, set(range(partitions)))
            ]
            for child in folding:
                auditor.merge(await child.part())
        finally:
            for child in children:
                child.stop()
        for outcome in read:  # a borrower's in log order: they share a partition
            if outcome is not None:
                auditor.outcome(outcome)
    return auditor.report


def write_json(report: AuditReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
