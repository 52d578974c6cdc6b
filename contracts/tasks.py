"""Channel tasks: commands to channel workers, one per authorised attempt (imperative names)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts._base import Message
from contracts.values import (
    Address,
    AttemptId,
    Channel,
    EmailAddress,
    LoanId,
    PartyId,
    PhoneNumber,
    Purpose,
)


class _Task(Message):
    attempt_id: AttemptId = Field(description="Deterministic; the vendor idempotency key")
    party_id: PartyId
    loan_id: LoanId
    purpose: Purpose
    language: Literal["en", "zh-CN"] = "en"
    authorised_at: AwareDatetime
    not_after: AwareDatetime = Field(
        description="Do not dispatch after this instant (window close)"
    )
    # Set on a guarantor's task when the policy that authorised it holds guarantors while the
    # borrower's bankruptcy stays co-debtors (BK-1301, pack data): the channel worker's re-check,
    # which reads no policy, applies the stay to this task if a filing comes before dispatch.
    # Written only when true, so an older worker reads every other task (rolling deploys).
    co_debtor_stay: bool = Field(
        default=False,
        exclude_if=lambda v: v is False,
        description="Cancel if the borrower's bankruptcy stays co-debtors before dispatch",
    )
    # Set when the policy that authorised it lets a revocation on another channel stop this one
    # (TC-5, pack data): the channel worker's re-check, which reads no policy, then cancels the
    # task if the person revokes consent on any of these channels for this address before
    # dispatch (a STOP to a text cancels a call waiting to go). Written only when set, as above.
    revoked_with: tuple[Channel, ...] = Field(
        default=(),
        exclude_if=lambda v: not v,
        description="Cancel if consent on any of these channels is revoked for this address",
    )


class SendSms(_Task):
    TYPE = "task.sms"
    to: PhoneNumber
    body: str = Field(max_length=1600)


class SendEmail(_Task):
    TYPE = "task.email"
    to: EmailAddress
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20000)


class PlaceCall(_Task):
    TYPE = "task.call"
    to: PhoneNumber
    voicemail: str = Field(max_length=600, description="Reg F limited-content message (RF-18)")


class SendLetter(_Task):
    """A letter for a print-and-mail vendor (the formal notice, the validation notice)."""

    TYPE = "task.letter"
    recipient: str = Field(max_length=128, description="The addressee's name as printed")
    to: Address
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20000)


Task = SendSms | SendEmail | PlaceCall | SendLetter

# The medium each task goes by: what a channel worker dispatches it to, and what the audit
# requires to be the medium its decision authorised.
CHANNEL_OF: dict[type[Message], Channel] = {
    SendSms: Channel.SMS,
    SendEmail: Channel.EMAIL,
    PlaceCall: Channel.CALL,
    SendLetter: Channel.LETTER,
}
