"""Vendor status callbacks -> :class:`OutcomeKind`. Pure: a mapping of form fields in, a
normalised status out. Interim states (queued, ringing, ...) map to None: nothing to record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.outcomes import OutcomeKind
from contracts.values import Channel

__all__ = ["Receipt", "read_receipt"]

_SMS: dict[str, OutcomeKind | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    # "sent" confirms the vendor took it; it also settles an attempt whose send timed out
    # (OUTCOME_UNKNOWN) as accepted.
    "sent": OutcomeKind.ACCEPTED,
    "delivered": OutcomeKind.DELIVERED,
    "read": OutcomeKind.DELIVERED,
    "undelivered": OutcomeKind.UNDELIVERED,
    "failed": OutcomeKind.FAILED,
    "canceled": OutcomeKind.FAILED,
}

# Twilio: "Attempt to send to unsubscribed recipient" (the person texted STOP to the sender).
_OPTED_OUT_CODE = "21610"

_CALL: dict[str, OutcomeKind | None] = {
    "queued": None,
    "initiated": None,
    "ringing": None,
    "in-progress": None,
    "no-answer": OutcomeKind.NO_ANSWER,
    "busy": OutcomeKind.BUSY,
    "failed": OutcomeKind.NOT_CONNECTED,
    "canceled": OutcomeKind.NOT_CONNECTED,
    "completed": None,  # decided by Disposition / AnsweredBy below
}

_DISPOSITIONS = {
    kind.value: kind
    for kind in (
        OutcomeKind.CONVERSATION_RIGHT_PARTY,
        OutcomeKind.CONVERSATION_WRONG_PARTY,
        OutcomeKind.VOICEMAIL_LEFT,
        OutcomeKind.NO_ANSWER,
        OutcomeKind.BUSY,
        OutcomeKind.NOT_CONNECTED,
    )
}


@dataclass(frozen=True, slots=True)
class Receipt:
    channel: Channel
    outcome: OutcomeKind
    external_id: str
    detail: str = ""


def read_receipt(form: Mapping[str, str]) -> Receipt | None:
    """Normalise one status callback. Raises ValueError when it is malformed."""
    if form.get("MessageSid") and form.get("MessageStatus"):
        status = form["MessageStatus"].lower()
        if status not in _SMS:
            raise ValueError("unknown MessageStatus")
        kind = _SMS[status]
        if kind is None:
            return None
        code = form.get("ErrorCode", "")
        if code == _OPTED_OUT_CODE and status in ("failed", "undelivered"):
            # Sent through a messaging service, a text to a person who texted STOP is taken,
            # then fails with the same code the REST API answers with (TC-2).
            kind = OutcomeKind.OPTED_OUT
        return Receipt(Channel.SMS, kind, form["MessageSid"], f"error_code={code}" if code else "")
    if form.get("CallSid") and form.get("CallStatus"):
        return _call_receipt(form)
    raise ValueError("neither MessageSid+MessageStatus nor CallSid+CallStatus present")


def _call_receipt(form: Mapping[str, str]) -> Receipt | None:
    status = form["CallStatus"].lower()
    if status not in _CALL:
        raise ValueError("unknown CallStatus")
    sid = form["CallSid"]
    disposition = form.get("Disposition", "")
    if disposition:
        # The dialer's own disposition is the most specific account of the call; trust it.
        if disposition not in _DISPOSITIONS:
            raise ValueError("unknown Disposition")
        return Receipt(Channel.CALL, _DISPOSITIONS[disposition], sid)
    if status != "completed":
        kind = _CALL[status]
        return None if kind is None else Receipt(Channel.CALL, kind, sid)
    if form.get("AnsweredBy", "").startswith("machine"):
        return Receipt(Channel.CALL, OutcomeKind.VOICEMAIL_LEFT, sid)
    # Answered with no disposition: assume a conversation with the right party. That is the
    # conservative reading, since a conversation triggers the stricter follow-up limits.
    return Receipt(
        Channel.CALL, OutcomeKind.CONVERSATION_RIGHT_PARTY, sid, "assumed: no disposition"
    )
