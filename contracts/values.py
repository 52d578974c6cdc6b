"""Value types shared by every message. No I/O, no behaviour beyond validation."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

# Opaque identifiers. They travel in Kafka keys and headers, so they must never carry PII (P7).
BorrowerId = Annotated[str, Field(pattern=_ID, description="Opaque borrower id; the Kafka key.")]
PartyId = Annotated[
    str, Field(pattern=_ID, description="Opaque id of a person (borrower, guarantor, contact).")
]
LoanId = Annotated[str, Field(pattern=_ID, description="Opaque id of a debt.")]
DisputeId = Annotated[
    str, Field(pattern=_ID, description="Opaque id of one dispute, as the servicer keeps it.")
]
AttemptId = Annotated[
    str, Field(pattern=_ID, description="Deterministic id of one contact attempt.")
]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _e164(value: str) -> str:
    if not _E164.match(value):
        raise ValueError("phone number must be in E.164 form, e.g. +14155550100")
    return value


PhoneNumber = Annotated[str, AfterValidator(_e164)]
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
# Validation context for records as they come in (events.serialization.decode). Checks that
# depend on installed data run only there: what the ledger already holds must always read back,
# even if a later release would have refused it (P5), or a restore would fail on it for ever.
INGEST: dict[str, bool] = {"ingest": True}


@cache
def _zone_names() -> frozenset[str]:
    # The pinned tzdata package's own list, not the host's: the same names pass on every
    # machine, and host-only entries (localtime, posixrules, posix/..., right/...) never do.
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in listed.splitlines() if line.strip())


def _loadable_zone(value: str, info: ValidationInfo) -> str:
    # A zone the strategy cannot load would break every later decision for the borrower, a STOP
    # among them (P6): refuse it at the door, so the record is dead-lettered with a reason (P3).
    if (info.context or {}).get("ingest") and value not in _zone_names():
        raise ValueError("unknown time zone; expected an IANA zone name, e.g. America/New_York")
    return value


# The check adds nothing to the JSON Schema: integrators see a string, as before.
TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, description="IANA zone name"),
    AfterValidator(_loadable_zone),
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __eq__(self, other: object) -> bool:
        # What pydantic's own __eq__ compares (the fields; a value has no extra or private
        # attributes), without its generality: the audit compares every rule outcome of every
        # decision it re-proves, and this was a tenth of its time.
        if type(other) is type(self):
            return self.__dict__ == other.__dict__
        return NotImplemented

    def __hash__(self) -> int:  # equal values hash alike, as with pydantic's frozen hash
        return hash(tuple(self.__dict__.values()))


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CALL = "call"
    LETTER = "letter"


class Purpose(StrEnum):
    """Why a contact is made; rules differ by purpose (e.g. a dispute response during a dispute)."""

    REMINDER = "reminder"  # pre-due, informational
    COLLECTION = "collection"
    VALIDATION_NOTICE = "validation_notice"
    DISPUTE_RESPONSE = "dispute_response"
    CEASE_ACKNOWLEDGEMENT = "cease_acknowledgement"  # RF-11's permitted messages
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"  # TC-4
    PAYMENT_CONFIRMATION = "payment_confirmation"
    LOCATION_INQUIRY = "location_inquiry"  # RF-13


class PhoneType(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


class EmailKind(StrEnum):
    PERSONAL = "personal"
    WORK = "work"  # RF-9: employer-provided address


class PartyRole(StrEnum):
    BORROWER = "borrower"
    GUARANTOR = "guarantor"
    CONTACT_PERSON = "contact_person"


class Money(_Value):
    amount: Decimal = Field(ge=0, decimal_places=4)
    currency: Currency


class Address(_Value):
    country: CountryCode
    lines: tuple[str, ...] = Field(
        default=(), max_length=4, description="Street lines, for letters to a print vendor"
    )
    region: str | None = Field(
        default=None,
        max_length=40,
        description="ISO 3166-2 subdivision suffix, e.g. MA, 44; a US state may be spelled out",
    )
    postal_code: str | None = Field(default=None, max_length=16)
    city: str | None = Field(
        default=None, max_length=64, description="Used for city rules, e.g. New York City"
    )


class Phone(_Value):
    number: PhoneNumber
    type: PhoneType = PhoneType.MOBILE


class Email(_Value):
    address: EmailAddress
    kind: EmailKind = EmailKind.PERSONAL


class LocalTimeRange(_Value):
    """A range of local wall-clock time; ``end`` may be before ``start`` to wrap past midnight."""

    start: time
    end: time
