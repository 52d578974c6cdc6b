"""One ledger entry at a time, on the pure core, as the engine folds it: the input is evolved
into the state, decided on with the clock, and each derived event evolved in turn. Ann in Albany
and the desk's texts to her, for tests of opt-outs."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    ConsentRevoked,
    ContactDecided,
    LoanOpened,
    Message,
    PartyLinked,
    RequestContact,
)
from contracts.values import Channel, PartyRole, Phone
from services.compliance.core import load_policy
from services.orchestrator.context import context_factory
from services.orchestrator.core.decide import Context, decide
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import BorrowerState
from services.orchestrator.settings import OrchestratorSettings
from tests.unit.orchestrator.builders import NOON_NY, B, ny_profile, usd

BEFORE = NOON_NY - timedelta(days=1)


def _ctx() -> Context:
    settings = OrchestratorSettings(namespace="unit", partitions=4)
    context_for, _ = context_factory(settings)
    return context_for(load_policy(settings.policy))


CTX = _ctx()


def step(state: BorrowerState, message: Message, now: datetime) -> list[Message]:
    """One ledger entry: fold the input, decide, fold what was derived."""
    evolve(state, message, now)
    derived = decide(state, message, now, CTX)
    for m in derived:
        evolve(state, m, now)
    return derived


def profile(*numbers: str) -> BorrowerProfiled:
    return BorrowerProfiled(**{**ny_profile(B), "phones": tuple(Phone(number=n) for n in numbers)})


def ann(*numbers: str) -> BorrowerState:
    """Ann in Albany, with a debt to a first-party lender (no validation notice, RF-20), who
    agreed to texts at any of her numbers."""
    state = BorrowerState(B)
    step(state, profile(*numbers), BEFORE)
    step(
        state,
        LoanOpened(loan_id="L1", product="p", principal=usd(500), third_party_collector=False),
        BEFORE,
    )
    step(state, ConsentGranted(party_id=B, channel=Channel.SMS, received_at=BEFORE), BEFORE)
    return state


def text(party_id: str, to: str, request_id: str) -> RequestContact:
    return RequestContact(
        request_id=request_id,
        party_id=party_id,
        loan_id="L1",
        channel=Channel.SMS,
        to=to,
        requested_by="agent-7",
    )


def verdict(derived: list[Message]) -> str:
    [decided] = [m for m in derived if isinstance(m, ContactDecided)]
    return decided.verdict.value


def revocations(derived: list[Message]) -> list[ConsentRevoked]:
    return [m for m in derived if isinstance(m, ConsentRevoked)]


def carl_at(number: str) -> PartyLinked:
    """Carl, linked to Ann's debt as a contact person at ``number`` (a household phone)."""
    return PartyLinked(
        loan_id="L1",
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        name="Carl",
        phones=(Phone(number=number),),
    )
