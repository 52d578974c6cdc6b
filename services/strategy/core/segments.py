"""Which of the source articles' four kinds of borrower this is, from outcomes and payments.

Pure: a function of the borrower's state and the playbook's thresholds. The order of the tests
is the precedence: what a borrower did (paid in part, agreed a plan) says more than what they
did not (answer the phone).
"""

from __future__ import annotations

from contracts.outcomes import OutcomeKind
from contracts.strategy import Segment
from contracts.values import Channel
from services.orchestrator.core.state import BorrowerState
from services.strategy.core.playbook import Segmentation

# Outcomes that say the borrower was not reached (a voicemail is a message left, not a contact).
_NOT_REACHED = {
    OutcomeKind.NO_ANSWER,
    OutcomeKind.BUSY,
    OutcomeKind.NOT_CONNECTED,
    OutcomeKind.VOICEMAIL_LEFT,
    OutcomeKind.UNDELIVERED,
    OutcomeKind.FAILED,
    OutcomeKind.BOUNCED,
    OutcomeKind.CONVERSATION_WRONG_PARTY,  # someone else answered: the borrower was not reached
}
# An OPTED_OUT text is in neither set: it never left, but it says the person has the number
# and reads it (they texted STOP to it), so it ends a run of attempts that did not reach them.
# Outcomes that say nothing about the borrower: a vendor took it, or it never left at all.
_SILENT = {
    OutcomeKind.ACCEPTED,
    OutcomeKind.DELIVERED,
    OutcomeKind.OUTCOME_UNKNOWN,
    OutcomeKind.EXPIRED,
    OutcomeKind.CANCELLED,
}


def classify(state: BorrowerState, rules: Segmentation) -> tuple[Segment, str]:
    """The borrower's segment and the signal that placed them there."""
    loans = list(state.loans.values())
    if loans and all(loan.paid_in_full for loan in loans):
        return Segment.COOPERATIVE, "paid in full"
    if any(loan.plan is not None for loan in loans):
        return Segment.WILLING_UNABLE, "repayment plan agreed"
    if any(loan.partial_payments for loan in loans):
        return Segment.WILLING_UNABLE, "partial payment"
    if any(loan.promises_broken or loan.plans_broken for loan in loans):
        return Segment.ABLE_UNWILLING, "broken promise or plan"
    mine = sorted(
        (a for a in state.attempts.values() if a.party_id == state.borrower_id),
        key=lambda a: (a.at, a.attempt_id),
    )
    conversations = sum(1 for a in mine if a.outcome is OutcomeKind.CONVERSATION_RIGHT_PARTY)
    promised = any(loan.promise is not None for loan in loans)
    paid = any(loan.payments for loan in loans)
    if conversations >= rules.unwilling_after_conversations and not (promised or paid):
        return Segment.ABLE_UNWILLING, f"{conversations} conversations, no payment or promise"
    if conversations == 0 and not (promised or paid):
        # Only attempts whose outcome is known and personal: texts that were merely accepted
        # by a vendor, or never sent, say nothing either way.
        known = [
            a.outcome
            for a in mine
            if a.outcome is not None
            and a.outcome not in _SILENT
            and a.channel in (Channel.CALL, Channel.SMS, Channel.EMAIL)
        ]
        tail = known[-rules.unreachable_after :]
        if len(tail) == rules.unreachable_after and all(o in _NOT_REACHED for o in tail):
            return Segment.UNREACHABLE, f"last {len(tail)} attempts did not reach the borrower"
    return Segment.COOPERATIVE, "reachable, no sign of refusal"
