"""The decision context the audit re-derives with: the orchestrator's, for any recorded policy."""

from __future__ import annotations

from collections.abc import Callable

from services.compliance.core import Policy
from services.orchestrator.core.decide import Context
from services.orchestrator.settings import OrchestratorSettings
from services.strategy.core.playbook import load_strategy


def context_factory(settings: OrchestratorSettings) -> tuple[Callable[[Policy], Context], str]:
    """Contexts exactly as the orchestrator builds them (``build_engine``; a test keeps the two
    alike), for any recorded policy, and the strategy version they decide under."""
    strategy = load_strategy(settings.playbook)

    def context_for(policy: Policy) -> Context:
        return Context(
            policy=policy,
            playbook=strategy.default,
            templates=strategy.templates,
            business=settings.business_name,
            agent=settings.agent_name,
            callback=settings.callback_number,
            by_product=strategy.by_product,
        )

    return context_for, strategy.version
