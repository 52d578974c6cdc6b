"""P6 at dispatch time: is an authorised task still allowed to go, given what is known now?"""

from __future__ import annotations

from datetime import datetime

from contracts.values import Channel, PartyRole, Purpose
from services.compliance.core import consent, holds
from services.orchestrator.core.state import BorrowerState, co_debtors_stayed, inquiry_held


def revoked_since(
    state: BorrowerState,
    party_id: str,
    loan_id: str,
    channel: Channel,
    to: str | None,
    purpose: Purpose,
    now: datetime,
    *,
    co_debtor_stay: bool = False,
    revoked_with: tuple[Channel, ...] = (),
) -> str | None:
    """The reason an in-flight task must not be sent, or None. Revocation wins (P6): on the
    task's own channel, and on those its authorising policy lets stop it (``revoked_with``,
    TC-5)."""
    party = state.parties.get(party_id)
    loan = state.loans.get(loan_id)
    if party is None:
        return "unknown_party"
    if not holds.own_destination(channel, to, party.phones, party.emails, party.addresses):
        # P1-DEST: the number or mailbox was dropped from the person's profile (reassigned,
        # or found wrong) after the decision: whoever has it now is not the person.
        return "hold:unknown_destination"
    if party.deceased:
        return "hold:deceased"
    if party.bankrupt:
        return "hold:bankruptcy"
    # The co-debtor stay (BK-1301) is pack data, for some places under some policies: applied
    # only where the authorising decision's policy applied it (the task says so), else it
    # would cancel lawful contacts elsewhere and flag dispatches under older policies.
    borrower = state.parties.get(state.borrower_id)
    if (
        co_debtor_stay
        and party.role_on(loan_id) is PartyRole.GUARANTOR
        and borrower is not None
        and co_debtors_stayed(borrower)
    ):
        return "hold:co_debtor_stay"
    if loan_id in party.attorney_loans:
        return "hold:attorney"
    if (
        party.cease_all or loan_id in party.cease_loans
    ) and purpose is not Purpose.CEASE_ACKNOWLEDGEMENT:
        return "hold:cease"
    if loan is not None and loan.disputed and purpose is not Purpose.DISPUTE_RESPONSE:
        return "hold:dispute"
    if purpose is Purpose.LOCATION_INQUIRY and party_id != state.borrower_id:
        # Asked where the borrower is: the gate, which holds only the person asked, authorised
        # it before the borrower's hold or the person's refusal was known.
        held = inquiry_held(state, party_id, loan_id)
        if held is not None:
            return f"hold:{held}"
    if confirms_an_opt_out(channel, purpose):
        return None
    # The gate's own reading of the consent ledger, so the two cannot disagree on what stands;
    # as of no earlier than the last record was processed: whatever has been read binds, even
    # stamped by a clock a little ahead of this worker's (a record counts from when it was
    # processed, or took effect if earlier).
    processed = [now, *(c.processed_at for c in party.consents)]
    consents, at = tuple(party.consents), max(processed)
    if consent.standing_revocation(consents, channel, to, purpose, at, revoked_with):
        return "consent:revoked"
    return None


def confirms_an_opt_out(channel: Channel, purpose: Purpose) -> bool:
    """TC-4: the one confirmation *text* goes to the number that just opted out, after the
    opt-out. The worker's re-check and the audit's dispatch check exempt it alike."""
    return purpose is Purpose.OPT_OUT_CONFIRMATION and channel is Channel.SMS
