"""P6 at dispatch time: is an authorised task still allowed to go, given what is known now?"""

from __future__ import annotations

from datetime import datetime

from contracts.values import Channel, Purpose
from services.orchestrator.core.state import BorrowerState


def revoked_since(
    state: BorrowerState,
    party_id: str,
    loan_id: str,
    channel: Channel,
    to: str | None,
    purpose: Purpose,
    now: datetime,
) -> str | None:
    """The reason an in-flight task must not be sent, or None. Revocation wins (P6)."""
    party = state.parties.get(party_id)
    loan = state.loans.get(loan_id)
    if party is None:
        return "unknown_party"
    if party.deceased:
        return "hold:deceased"
    if party.bankrupt:
        return "hold:bankruptcy"
    if loan_id in party.attorney_loans:
        return "hold:attorney"
    if (
        party.cease_all or loan_id in party.cease_loans
    ) and purpose is not Purpose.CEASE_ACKNOWLEDGEMENT:
        return "hold:cease"
    if loan is not None and loan.disputed and purpose is not Purpose.DISPUTE_RESPONSE:
        return "hold:dispute"
    if purpose is Purpose.OPT_OUT_CONFIRMATION:
        return None  # TC-4: the one confirmation goes to the address that just opted out
    relevant = [
        c
        for c in party.consents
        if c.channel is channel
        and (c.address is None or (to is not None and c.address.lower() == to.lower()))
        and (c.purpose is None or c.purpose is purpose)
        and c.effective_at <= now
    ]
    if relevant and not max(relevant, key=lambda c: (c.effective_at, c.processed_at)).granted:
        return "consent:revoked"
    return None
