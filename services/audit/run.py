"""`parley audit`: read the ledger, the dispatch records and the recorded policies back from the
broker and run the auditor over them. Read-only: it never sends anything (P5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from contracts.ledger import LedgerEntry
from contracts.outcomes import DispatchStarted
from events.envelope import Envelope
from events.topics import Topics
from services.audit.core.replay import Auditor, AuditReport
from services.compliance.core import Policy
from services.compliance.core.registry import policy_from_document
from services.orchestrator.core.decide import Context
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.logreader import read_all
from services.strategy.core.playbook import load_playbook, load_templates


def context_factory(settings: OrchestratorSettings) -> tuple[Callable[[Policy], Context], str]:
    """Contexts exactly as the orchestrator builds them, for any recorded policy."""
    playbook, playbook_version = load_playbook(settings.playbook)
    templates = load_templates()

    def context_for(policy: Policy) -> Context:
        return Context(
            policy=policy,
            playbook=playbook,
            templates=templates,
            business=settings.business_name,
            agent=settings.agent_name,
            callback=settings.callback_number,
        )

    return context_for, f"{playbook_version}.{templates.version}"


async def run_audit(
    bootstrap: str,
    topics: Topics,
    partitions: int,
    settings: OrchestratorSettings,
    shadow: Policy | None = None,
) -> AuditReport:
    everything = set(range(partitions))
    policies = {}
    async for record in read_all(bootstrap, topics.policies, everything):
        policy = policy_from_document(json.loads(record.value))
        policies[policy.version] = policy
    context_for, strategy_version = context_factory(settings)
    auditor = Auditor(policies, context_for, strategy_version, shadow)
    async for record in read_all(bootstrap, topics.ledger, everything):
        auditor.entry(LedgerEntry.model_validate_json(record.value))
    async for record in read_all(bootstrap, topics.outcomes, everything):
        envelope = Envelope.model_validate_json(record.value)
        if envelope.type == DispatchStarted.TYPE:
            d = DispatchStarted.model_validate(envelope.payload)
            auditor.dispatch(envelope.borrower_id, d.attempt_id, d.started_at)
    return auditor.report


def write_json(report: AuditReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
