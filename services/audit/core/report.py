"""What an audit found: counts, findings, the revocation evidence and the shadow replay."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.audit.core import revocations
from services.audit.core.revocations import Revocation


@dataclass(frozen=True)
class Finding:
    kind: str  # mismatch | violation | unverifiable
    code: str
    borrower_id: str
    detail: str
    attempt_id: str | None = None
    entry_id: str | None = None
    rule: str | None = None  # the compliance rule broken, where one is (TC-3)


@dataclass
class AuditReport:
    entries: int = 0
    # True for `parley audit --rederive`: the whole core was run again, not only the gate.
    rederive: bool = False
    entries_rederived: int = 0
    decisions_reproved: int = 0
    dispatches_checked: int = 0
    policy_versions: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)
    shadow_policy: str | None = None
    shadow_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    shadow_rules: Counter[str] = field(default_factory=Counter)

    @property
    def mismatches(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "mismatch"]

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "violation"]

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def revocations_late(self) -> int:
        return sum(1 for f in self.violations if f.code == "revocation_processed_late")

    def merge(self, other: AuditReport) -> None:
        """Add another shard's report to this one (its revocations go after this one's)."""
        self.entries += other.entries
        self.entries_rederived += other.entries_rederived
        self.decisions_reproved += other.decisions_reproved
        self.dispatches_checked += other.dispatches_checked
        self.policy_versions |= other.policy_versions
        self.findings.extend(other.findings)
        self.revocations.extend(other.revocations)
        self.shadow_changes.update(other.shadow_changes)
        self.shadow_rules.update(other.shadow_rules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "rederive": self.rederive,
            "entries_rederived": self.entries_rederived,
            "decisions_reproved": self.decisions_reproved,
            "dispatches_checked": self.dispatches_checked,
            "policy_versions": sorted(self.policy_versions),
            "mismatches": len(self.mismatches),
            "violations": len(self.violations),
            "findings": [f.__dict__ for f in self.findings],
            "revocations": {
                **revocations.summary(self.revocations, self.revocations_late),
                "records": [r.as_dict() for r in self.revocations],
            },
            "shadow": None
            if self.shadow_policy is None
            else {
                "policy": self.shadow_policy,
                "changes": {f"{a}->{b}": n for (a, b), n in sorted(self.shadow_changes.items())},
                "rules": dict(sorted(self.shadow_rules.items())),
            },
        }
