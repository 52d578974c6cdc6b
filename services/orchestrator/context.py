"""The decision context: what the orchestrator decides with, and what the audit re-derives
with for any recorded policy version. One function, so the two cannot drift apart."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from services.compliance.core import Policy
from services.orchestrator.core.decide import CORE_REVISION, Context
from services.orchestrator.settings import OrchestratorSettings
from services.strategy.core.playbook import check_business_name, load_strategy


def context_factory(settings: OrchestratorSettings) -> tuple[Callable[[Policy], Context], str]:
    """A context for any policy, and the strategy version they decide under. Loading fails at
    start-up on a missing template, a voicemail that is not an LCM, or a business name that
    reveals debt collection."""
    strategy = load_strategy(settings.playbook)
    check_business_name(settings.business_name)

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

    # What a task says depends on these settings too: a re-derivation under other ones would
    # report every text as changed (P5), so they are part of the version it is recorded under.
    said = "\x1f".join((settings.business_name, settings.agent_name, settings.callback_number))
    voice = hashlib.blake2b(said.encode(), digest_size=4).hexdigest()
    return context_for, f"{strategy.version}.{voice}.r{CORE_REVISION}"
