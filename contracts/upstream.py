"""Events that upstream systems (loan servicing, payments, CRM, legal) publish to Parley.

All are facts, named in the past tense, keyed by borrower id on the ``parley.upstream`` topic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts._base import Message
from contracts.values import (
    Address,
    Channel,
    DisputeId,
    Email,
    EmailAddress,
    LoanId,
    LocalTimeRange,
    Money,
    PartyId,
    PartyRole,
    Phone,
    PhoneNumber,
    Purpose,
    TimeZoneName,
)


class BorrowerProfiled(Message):
    """The borrower's current profile; replaces any earlier profile."""

    TYPE = "borrower.profiled"
    party_id: PartyId
    name: str = Field(max_length=128)
    language: Literal["en", "zh-CN"] = "en"
    declared_time_zone: TimeZoneName | None = None
    addresses: tuple[Address, ...] = ()
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    vulnerable: bool = Field(default=False, description="UK-1: known or suspected vulnerability")


class LoanOpened(Message):
    TYPE = "loan.opened"
    loan_id: LoanId
    product: str = Field(max_length=64)
    principal: Money
    guarantor_contact_allowed: bool = Field(
        default=False, description="Contract allows contacting a guarantor"
    )
    third_party_collector: bool = Field(
        default=True, description="FDCPA debt collector (Reg F applies)"
    )


class InstalmentDue(Message):
    TYPE = "instalment.due"
    loan_id: LoanId
    instalment_no: int = Field(ge=1)
    due_date: date
    amount: Money


class DelinquencyUpdated(Message):
    TYPE = "delinquency.updated"
    loan_id: LoanId
    days_past_due: int = Field(ge=0)
    amount_overdue: Money
    as_of: date
    # Reg F 1006.34(c)(2)(viii): the validation notice states the debt's current amount. Written
    # only when known, so a build from before the field still reads every record that does not
    # name one (rolling deploys).
    balance: Money | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The whole debt's current amount as of as_of (principal, interest and"
        " fees, less payments and credits): what a validation notice states",
    )


class PaymentReceived(Message):
    TYPE = "payment.received"
    loan_id: LoanId
    amount: Money
    paid_in_full: bool


class PromiseToPayMade(Message):
    TYPE = "promise_to_pay.made"
    loan_id: LoanId
    amount: Money
    promised_date: date


class PlannedInstalment(Message):
    TYPE = "repayment_plan.instalment"
    due_date: date
    amount: Money


class RepaymentPlanAgreed(Message):
    TYPE = "repayment_plan.agreed"
    loan_id: LoanId
    instalments: tuple[PlannedInstalment, ...] = Field(min_length=1)


class ConsentGranted(Message):
    """Consent for one channel, address and purpose. ``address`` None means every address."""

    TYPE = "consent.granted"
    party_id: PartyId
    channel: Channel
    address: PhoneNumber | EmailAddress | None = None
    purpose: Purpose | None = None
    written: bool = False
    received_at: AwareDatetime
    effective_at: AwareDatetime | None = None


class ConsentRevoked(Message):
    """A revocation or opt-out (RF-16/RF-17, TC-2). ``address`` None revokes the whole medium."""

    TYPE = "consent.revoked"
    party_id: PartyId
    channel: Channel
    address: PhoneNumber | EmailAddress | None = None
    purpose: Purpose | None = None
    received_at: AwareDatetime
    effective_at: AwareDatetime | None = None
    words: str | None = Field(
        default=None, max_length=160, description="What the person said, if a reply"
    )


class ContactPreferenceStated(Message):
    """RF-8 / UK-2: times the person said are inconvenient, and whether work contact is barred."""

    TYPE = "contact_preference.stated"
    party_id: PartyId
    inconvenient_times: tuple[LocalTimeRange, ...] = ()
    no_contact_at_work: bool = False


class DisputeOpened(Message):
    """RF-21: collection stops on the debt until the dispute is resolved (the gate's hold).

    A debt may have several disputes open at once; each is resolved on its own when the
    servicer names it. Whether a change is older than one already applied is judged by the
    envelope's ``occurred_at``, so a resolution re-sent after the dispute was reopened does
    not lift it."""

    TYPE = "dispute.opened"
    loan_id: LoanId
    dispute_id: DisputeId | None = Field(
        default=None, description="Which dispute; without one, the debt's dispute"
    )


class DisputeResolved(Message):
    """Resolves the dispute named, or without ``dispute_id`` every dispute of the debt opened
    (by ``occurred_at``) before this resolution."""

    TYPE = "dispute.resolved"
    loan_id: LoanId
    dispute_id: DisputeId | None = Field(
        default=None, description="Which dispute; without one, every dispute of the debt"
    )


class CeaseRequested(Message):
    """RF-11: written refusal to pay or request to stop communicating."""

    TYPE = "cease.requested"
    party_id: PartyId
    loan_id: LoanId | None = None


class AttorneyRepresented(Message):
    TYPE = "attorney.represented"
    party_id: PartyId
    loan_id: LoanId


class BankruptcyFiled(Message):
    TYPE = "bankruptcy.filed"
    party_id: PartyId
    # Chapters 12 and 13 stay collection from co-debtors too (11 U.S.C. 1201, 1301); 7 and 11
    # do not. Unknown is taken as staying them. Written only when known, so a build from
    # before the field still reads every record that does not name one (rolling deploys).
    chapter: Literal[7, 11, 12, 13] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="US bankruptcy chapter, where known: 12 and 13 also stay co-debtors",
    )


class DeceasedReported(Message):
    TYPE = "deceased.reported"
    party_id: PartyId


class PartyLinked(Message):
    """A guarantor or other contact person linked to a debt; a party with its own consent and budget."""

    TYPE = "party.linked"
    loan_id: LoanId
    party_id: PartyId
    role: Literal[PartyRole.GUARANTOR, PartyRole.CONTACT_PERSON]
    relationship: str = Field(default="", max_length=64)
    name: str = Field(max_length=128)
    addresses: tuple[Address, ...] = ()
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    # Each written only when given, so a build from before them still reads every link that
    # does not need them (rolling deploys).
    language: Literal["en", "zh-CN"] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The language to write to this person in; unset: the borrower's",
    )
    declared_time_zone: TimeZoneName | None = Field(default=None, exclude_if=lambda v: v is None)
    vulnerable: bool = Field(
        default=False,
        exclude_if=lambda v: v is False,
        description="UK-1: known or suspected vulnerability",
    )


class ThirdPartyRefused(Message):
    """A contact person or guarantor declined and asked not to be contacted again (CN-3).

    Reported by a desk or a dialer disposition; the person is never contacted again."""

    TYPE = "third_party.refused"
    party_id: PartyId
    reported_at: AwareDatetime


class RequestContact(Message):
    """Command from a desk or dialer: may I contact this person now, by this channel, for this debt?"""

    TYPE = "contact.request"
    request_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    party_id: PartyId
    loan_id: LoanId
    channel: Channel
    to: PhoneNumber | EmailAddress | None = None
    purpose: Purpose = Purpose.COLLECTION
    requested_by: str = Field(max_length=64)
    at: datetime | None = Field(default=None, description="Requested contact time; default now")
