"""What happened to an attempt, and what came back from people and vendors."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from contracts._base import Message
from contracts.values import AttemptId, Channel, PhoneNumber

# Where a person's text was sent: one of our numbers, as the vendor reports it in `To`. An E.164
# long code (the same form as PhoneNumber accepts), or any bare ASCII digit string of 3 to 20
# digits: a short code (3 to 8 digits), a Chinese 106 service number (up to 20 digits, e.g.
# 1069012345678) or a national number without its +. The number plays no part in routing (the
# sender's does), and a vendor does not retry a text refused with a 4xx, so refusing an unusual
# form of our own number would lose the STOP in it (P6).
ReceivingNumber = Annotated[
    str,
    Field(
        pattern=r"^(?:\+[1-9]\d{6,14}|[0-9]{3,20})$",
        description="Our number the text was sent to: E.164, or 3-20 ASCII digits (a short code,"
        " a Chinese 106 service number or a national number).",
    ),
]


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"  # vendor took it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"  # definite failure; nothing reached the person
    BOUNCED = "bounced"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    NOT_CONNECTED = "not_connected"  # RF-3: never connected to the dialed number
    VOICEMAIL_LEFT = "voicemail_left"
    CONVERSATION_RIGHT_PARTY = "conversation_right_party"
    CONVERSATION_WRONG_PARTY = "conversation_wrong_party"
    OUTCOME_UNKNOWN = "outcome_unknown"  # P2: request may have left; never resent
    EXPIRED = "expired"  # not dispatched: its window had closed
    CANCELLED = "cancelled"  # not dispatched: revoked or held since authorised (P6)
    # The vendor refused a text because the person opted out of our texts with the vendor (a
    # STOP it received and blocks on, Twilio error 21610): nothing reached them, and they are
    # revoked at that number (TC-2). Written only for such a refusal: a build from before the
    # value reads every other outcome (deploy the readers first, ADR 0019).
    OPTED_OUT = "opted_out"


class DispatchStarted(Message):
    """Recorded by a channel worker before it calls a vendor (P2: reserve, then send)."""

    TYPE = "dispatch.started"
    attempt_id: AttemptId
    channel: Channel
    vendor: str
    started_at: AwareDatetime
    # P2: an attempt is started again (after a crash) only where the vendor de-duplicates on the
    # attempt id, so the second request cannot reach the person a second time. The audit reports
    # any other start of an attempt already started. Records written before the field replay as
    # unmarked.
    # Written only when true, as confirms_opt_out only when false: a build from before the
    # field still reads every record that does not need it (rolling deploys).
    vendor_deduplicates: bool = Field(
        default=False,
        exclude_if=lambda v: v is False,
        description="The vendor de-duplicates requests on the attempt id (the adapter honours"
        " idempotency): starting this attempt again cannot send it twice.",
    )


class ContactOutcomeRecorded(Message):
    TYPE = "contact.outcome"
    attempt_id: AttemptId
    channel: Channel
    outcome: OutcomeKind
    vendor: str = ""
    external_id: str = Field(default="", max_length=128)
    reported_at: AwareDatetime
    detail: str = Field(default="", max_length=500)


class InboundMessageReceived(Message):
    """A text from a person (e.g. STOP), as reported by the vendor."""

    TYPE = "inbound.sms"
    from_number: PhoneNumber
    to_number: ReceivingNumber  # a STOP sent to a short code must not be refused (P6)
    body: str = Field(max_length=1600)
    vendor: str
    external_id: str = Field(max_length=128)
    received_at: AwareDatetime
    # A text from a number several borrowers' files share is routed to each of them, and each
    # revokes it (P6); only the copy marked here answers it with the TC-4 confirmation, so the
    # person gets one text, not one per borrower. Records written before the field had one copy
    # per borrower confirming, and replay as they were decided (P5).
    confirms_opt_out: bool = Field(
        default=True,
        exclude_if=lambda v: v is True,
        description="This copy may answer an opt-out with the one confirmation text (TC-4).",
    )
