"""Parley's compliance gate: a pure, synchronous core with policy as data.

``load_policy`` reads rule packs (services/compliance/packs/*.yaml); ``evaluate`` decides one
intended contact at the instant it carries. Nothing here reads a clock, logs, retries or does
I/O other than reading policy files in ``load_policy``.
"""

from services.compliance.core.errors import PolicyError
from services.compliance.core.gate import evaluate
from services.compliance.core.keywords import is_opt_out, opt_out_keywords
from services.compliance.core.model import (
    AttemptRecord,
    ConsentRecord,
    ContactIntent,
    DebtFacts,
    GateInput,
    GateResult,
    PartyFacts,
)
from services.compliance.core.policy import Policy, load_policy

__all__ = [
    "AttemptRecord",
    "ConsentRecord",
    "ContactIntent",
    "DebtFacts",
    "GateInput",
    "GateResult",
    "PartyFacts",
    "Policy",
    "PolicyError",
    "evaluate",
    "is_opt_out",
    "load_policy",
    "opt_out_keywords",
]
