"""The one topic table. Every topic carrying borrower data is keyed by borrower id and has the
same partition count, so one orchestrator instance owns all of a borrower's records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    UPSTREAM = "upstream"  # loan/borrower events and contact requests from upstream systems
    OUTCOMES = "outcomes"  # dispatch records, vendor receipts, inbound replies, dispositions
    LEDGER = (
        "ledger"  # the orchestrator's journal: applied inputs and every decision (system of record)
    )
    TASKS_SMS = "tasks.sms"
    TASKS_EMAIL = "tasks.email"
    TASKS_CALL = "tasks.call"
    TASKS_LETTER = "tasks.letter"  # for a print-and-mail vendor
    CLOCK = "clock"  # simulation ticks (demo and tests); absent in wall-clock deployments
    POLICIES = "policies"  # every policy document in force, keyed by its version (for audits)
    DEADLETTER = "deadletter"


@dataclass(frozen=True)
class TopicSpec:
    role: Role
    description: str
    retention_ms: int  # -1 = keep forever
    co_partitioned: bool = True


_YEAR_MS = 365 * 24 * 3600 * 1000

SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(
        Role.UPSTREAM,
        "upstream facts and contact requests, keyed by borrower id",
        30 * 24 * 3600 * 1000,
    ),
    TopicSpec(Role.OUTCOMES, "dispatch records, receipts, replies, dispositions", -1),
    # RF-24 / CN-1: records kept >= 3-5 years after last activity; the ledger is kept forever and
    # shredded per borrower (docs/decisions) rather than expired by time.
    TopicSpec(Role.LEDGER, "orchestrator journal: applied inputs, decisions, timers", -1),
    TopicSpec(Role.TASKS_SMS, "authorised SMS attempts", 7 * 24 * 3600 * 1000),
    TopicSpec(Role.TASKS_EMAIL, "authorised email attempts", 7 * 24 * 3600 * 1000),
    TopicSpec(Role.TASKS_CALL, "authorised call attempts", 7 * 24 * 3600 * 1000),
    TopicSpec(Role.TASKS_LETTER, "authorised letters for the print vendor", 7 * 24 * 3600 * 1000),
    TopicSpec(Role.CLOCK, "simulation clock ticks, one per partition", 24 * 3600 * 1000),
    TopicSpec(
        Role.POLICIES, "policy documents keyed by content-hash version", -1, co_partitioned=False
    ),
    TopicSpec(Role.DEADLETTER, "records that could not be processed, with a reason", 5 * _YEAR_MS),
)

TASK_ROLES = (Role.TASKS_SMS, Role.TASKS_EMAIL, Role.TASKS_CALL, Role.TASKS_LETTER)


@dataclass(frozen=True)
class Topics:
    """Concrete topic names under one namespace (tests use a fresh namespace each)."""

    namespace: str = "parley"

    def name(self, role: Role) -> str:
        return f"{self.namespace}.{role.value}"

    @property
    def upstream(self) -> str:
        return self.name(Role.UPSTREAM)

    @property
    def outcomes(self) -> str:
        return self.name(Role.OUTCOMES)

    @property
    def ledger(self) -> str:
        return self.name(Role.LEDGER)

    @property
    def clock(self) -> str:
        return self.name(Role.CLOCK)

    @property
    def policies(self) -> str:
        return self.name(Role.POLICIES)

    @property
    def deadletter(self) -> str:
        return self.name(Role.DEADLETTER)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.name(r) for r in TASK_ROLES)

    def all(self) -> tuple[str, ...]:
        return tuple(self.name(s.role) for s in SPECS)
