"""The rule-pack format: frozen pydantic models, strict about unknown fields (a typo is an error).

A pack is data only. The gate's code knows the *kinds* of rule (window, counter, cooldown, consent,
opt-out, hold); every number, channel list and source id comes from a pack file.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from contracts.values import Channel, PhoneType, Purpose
from services.compliance.core.localtime import loadable_zone

# Source ids as written in compliance-rules.md (RF-1, MA-7.04, WA-19.16.250, NYC-5-77) or a
# Parley promise (P1-DEST). Lower case, spaces or a missing "-" is a "bad rule id".
RULE_ID = r"^[A-Z][A-Z0-9]{0,5}(-[A-Z0-9][A-Za-z0-9.]*)+$"
RuleId = Annotated[str, Field(pattern=RULE_ID)]
Src = Literal["V", "S", "U"]
HoldKind = Literal[
    "unknown_destination",
    "no_location",
    "dispute",
    "cease",
    "attorney",
    "bankruptcy",
    "co_debtor_stay",
    "deceased",
    "vulnerable_automated",
    "work_email",
    "work_phone",
    "third_party_location",
    "third_party_unreachable_only",
]
Per = Literal["person_debt", "person", "number"]
OutcomeToken = str  # an OutcomeKind value or "pending"; checked against the enum in policy.py


def _hhmm(value: object) -> object:
    # Unquoted 08:00 is a YAML 1.1 sexagesimal integer (480); say so instead of "not a string".
    if not isinstance(value, str):
        raise ValueError("must be a quoted 'HH:MM' string, e.g. \"08:00\"")
    return value


LocalTime = Annotated[
    str, BeforeValidator(_hhmm), Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
]


def parse_hhmm(value: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    return time.max if hours == 24 else time(hours, minutes)


ALL_TIMED: tuple[Channel, ...] = (Channel.CALL, Channel.SMS, Channel.EMAIL)


# With a cap of 0 the count is always at the cap and never clears: the gate would defer every
# contact until the instant it was asked, for ever. Forbidding contact is a hold's job.
CAP_TOO_LOW = "a counter's max must be at least 1 (to forbid contact, use a hold)"


def _cap(value: int) -> int:
    if value < 1:
        raise ValueError(CAP_TOO_LOW)
    return value


# Checked when a policy is loaded (here and in ``_loader.check_pack``), not when a recorded
# policy document is read back: an auditor must still be able to replay what was decided.
Cap = Annotated[int, AfterValidator(_cap)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class _Rule(_Strict):
    id: RuleId
    src: Src = "U"
    note: str = ""


class HoldRule(_Rule):
    hold: HoldKind
    channels: tuple[Channel, ...] | None = None  # None = every channel
    allow_purposes: tuple[Purpose, ...] = ()
    max_allowed: int | None = Field(default=None, ge=0)  # cap on allowed-purpose messages, ever
    # work_email only: a standing consent grant naming the address lifts the hold (RF-9). Left
    # out of the dump when unset, so a policy recorded before the field hashes to its version
    # and is re-proved as it decided (P5): there, consent never lifted it.
    unless_consented: bool | None = Field(default=None, exclude_if=lambda v: v is None)


class OptOutRule(_Rule):
    channels: tuple[Channel, ...]
    scope: Literal["address", "medium", "any"]
    # TC-5: a revocation given on any of these channels binds this rule's channels too (a STOP to
    # a text stops the calls to that number), from ``in_force_from`` (the date in the person's
    # zone, any of them). Both left out of the dump when unset, so a policy recorded before them
    # hashes to its version and re-proves as it decided (P5): each channel's own opt-outs only.
    across: tuple[Channel, ...] | None = Field(default=None, exclude_if=lambda v: v is None)
    in_force_from: date | None = Field(default=None, exclude_if=lambda v: v is None)
    # The regulator's zone: the date binds once it has begun there or where the person may be.
    calendar_zone: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _across_its_own_channels(self) -> OptOutRule:
        if self.across is not None and (
            len(self.across) < 2 or not set(self.across) <= set(self.channels)
        ):
            raise ValueError("across: name two or more of the rule's own channels")
        if self.across is not None and self.scope != "any":
            # The channel worker's re-check reads no policy: a task names only the channels
            # (``revoked_with``), and any revocation on them stops it.
            raise ValueError("across: only with scope any")
        if self.in_force_from is not None and self.across is None:
            raise ValueError("in_force_from: only a rule with across starts on a date")
        if self.calendar_zone is not None and self.in_force_from is None:
            raise ValueError("calendar_zone: only for a rule with in_force_from")
        if self.calendar_zone is not None and not loadable_zone(self.calendar_zone):
            raise ValueError(f"calendar_zone: no time zone {self.calendar_zone!r}")
        return self


class ConsentRule(_Rule):
    channels: tuple[Channel, ...]
    phone_types: tuple[PhoneType, ...] | None = None  # None = every destination of the channel
    written: bool = False


class ConfirmationRule(_Rule):
    purpose: Purpose
    # The media the confirmation may use (TC-4: a text). Required when a policy is loaded (see
    # ``_loader.check_pack``); None only in a policy document recorded before the field existed,
    # which allowed any medium and is read back as it was (P5). Left out of the dump when None,
    # so such a document still hashes to its version.
    channels: tuple[Channel, ...] | None = Field(default=None, exclude_if=lambda v: v is None)
    within_minutes: int = Field(ge=0)
    max: int = Field(ge=0)


class LocationRule(_Rule):
    pass


class WindowRule(_Rule):
    """Allowed local time [start, end) at every candidate zone; ``wraps`` allows end < start."""

    start: LocalTime
    end: LocalTime
    wraps: bool = False
    channels: tuple[Channel, ...] = ALL_TIMED


class StatedTimesRule(_Rule):
    channels: tuple[Channel, ...] = ALL_TIMED


class HolidayRule(_Rule):
    country: str = Field(pattern=r"^[A-Z]{2}$")
    subdiv: str | None = None
    no_contact_on_public_holidays: bool = False
    channels: tuple[Channel, ...] = ALL_TIMED


class CounterRule(_Rule):
    variant: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    counts: str  # a kind from counting.yaml
    per: Per
    rolling_days: int | None = Field(default=None, ge=1, le=366)
    calendar_day: bool = False
    max: int = Field(ge=0)  # at least 1 in a policy being loaded: see ``Cap``
    gates: tuple[Channel, ...]
    phone_types: tuple[PhoneType, ...] | None = None
    # per: number only. Dials to the number made while seeking anyone else on file (a home phone
    # a borrower shares with a guarantor) count too: a cap per contact number (CN-4). Left out
    # of the dump when false, so a policy recorded before it re-proves as it decided (P5).
    shared_numbers: bool = Field(default=False, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _one_window(self) -> CounterRule:
        if (self.rolling_days is None) == (not self.calendar_day):
            raise ValueError("needs exactly one of rolling_days or calendar_day: true")
        if self.shared_numbers and self.per != "number":
            raise ValueError("shared_numbers: true needs per: number")
        return self

    @property
    def key(self) -> str:
        """Counter id in evidence: the source id, plus the variant when one id has several."""
        return self.id if self.variant is None else f"{self.id}/{self.variant}"


class CooldownRule(_Rule):
    after: str  # a kind from counting.yaml
    per: Per
    block_days: int = Field(ge=1, le=366)  # the event day is day 1; allowed from day block_days+1
    gates: tuple[Channel, ...]


class ObligationRule(_Strict):
    """Something that must happen by a deadline. The gate cannot force it; the strategy asks for
    it and the audit proves it happened in time."""

    id: RuleId
    kind: Literal["validation_notice", "revocation_honoured"]
    within_days: int = Field(ge=0)
    # Business days exclude Saturdays, Sundays and ``calendar_country``'s public holidays
    # (observed days included), counted on dates in ``calendar_zone``; the day the obligation
    # starts is not one of them, and the deadline is the end of the last.
    business_days: bool = False
    calendar_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    calendar_zone: str = "UTC"
    channels: tuple[Channel, ...] = ()  # the media it governs; empty: every medium
    in_force_from: date | None = None  # obligations starting earlier are not held to it
    src: Src
    note: str = ""


class Pack(_Strict):
    pack: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = ""
    # "*": everyone; "elsewhere": everyone no other pack applies to; else a jurisdiction code.
    jurisdiction: str = Field(pattern=r"^(\*|elsewhere|[A-Z]{2}(-[A-Z0-9]+)*)$")
    opt_out_keywords: tuple[str, ...] = ()
    # Words that revoke wherever they stand in a reply ("Please stop texting me", "I want to opt
    # out"), not only at its start: TC-2's "other clear words". Words common in other senses
    # ("end of the month", "cancel my card") stay keywords only. Left out of the document when
    # empty, so policies recorded before it keep their versions (P5).
    opt_out_phrases: tuple[str, ...] = Field(default=(), exclude_if=lambda v: not v)
    # Words in a reply that name a whole medium (RF-17): "don't text me" stops texts to every
    # number on file, not only the one it came from; "stop calling" stops calls, which a text
    # reply otherwise never touches. Left out when empty (P5).
    opt_out_text_phrases: tuple[str, ...] = Field(default=(), exclude_if=lambda v: not v)
    opt_out_call_phrases: tuple[str, ...] = Field(default=(), exclude_if=lambda v: not v)
    holds: tuple[HoldRule, ...] = ()
    opt_outs: tuple[OptOutRule, ...] = ()
    consent_required: tuple[ConsentRule, ...] = ()
    confirmation: ConfirmationRule | None = None
    location: LocationRule | None = None
    windows: tuple[WindowRule, ...] = ()
    stated_times: StatedTimesRule | None = None
    holidays: HolidayRule | None = None
    counters: tuple[CounterRule, ...] = ()
    cooldowns: tuple[CooldownRule, ...] = ()
    obligations: tuple[ObligationRule, ...] = ()


class Kind(_Strict):
    channels: tuple[Channel, ...]
    outcomes: tuple[OutcomeToken, ...] | None = None
    exclude_outcomes: tuple[OutcomeToken, ...] = ()


class Counting(_Strict):
    kinds: dict[str, Kind]


# A 3-digit ZIP code prefix, or an inclusive range of them ("010-027").
ZipPrefixRange = Annotated[str, Field(pattern=r"^[0-9]{3}(-[0-9]{3})?$")]


class NycData(_Strict):
    region: str
    cities: tuple[str, ...]
    postal_prefixes: tuple[str, ...]
    # Whole ZIP codes in the city whose 3-digit prefix is not wholly in it (110: Queens and
    # Nassau). Left out of the dump when empty, so a policy document recorded before this field
    # existed still hashes to its version (registry.policy_from_document re-checks the hash).
    postal_codes: tuple[Annotated[str, Field(pattern=r"^[0-9]{5}$")], ...] = Field(
        default=(), exclude_if=lambda v: not v
    )
    # An NY address that no postal code places outside the city is read as possibly in it
    # (a Queens address names its neighbourhood, not "Queens"). Left out when unset, as above:
    # a policy recorded before it reads such an address as outside the city, as it decided.
    outside_only_by_postal_code: bool | None = Field(default=None, exclude_if=lambda v: v is None)


class ZonesData(_Strict):
    zones: int
    us_states: dict[str, tuple[str, ...]]
    countries: dict[str, tuple[str, ...]]
    max_zones_per_number: int = Field(ge=1)
    us_area_codes: dict[str, tuple[str, ...]]
    nyc: NycData
    # Left out of the dump when empty, so a policy document recorded before this field existed
    # still hashes to its version (registry.policy_from_document re-checks the hash).
    us_territories: tuple[str, ...] = Field(default=(), exclude_if=lambda v: not v)
    # Country -> every zone tzdata's zone.tab gave it when the policy was built, for a country
    # ``countries`` does not list: recorded, so a later tzdata cannot change what a recorded
    # policy version decides (P5). Left out when empty, as above.
    tzdata_countries: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, exclude_if=lambda v: not v
    )
    # State code -> how addresses write it otherwise ("Massachusetts", "Mass."), matched by
    # ``region_key``; and what a US address whose state cannot be read brings. Both left out when
    # unset, as above: a policy recorded before them reads regions as it did (stripped, upper
    # case) and gives such an address federal rules alone, as it decided (P5).
    us_region_names: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, exclude_if=lambda v: not v
    )
    unreadable_us_region: Literal["every_state"] | None = Field(
        default=None, exclude_if=lambda v: v is None
    )
    # State or territory -> the 3-digit ZIP code prefixes USPS gives it ("010-027" a range): a
    # US address's ZIP code is a place of its own (RF-7). Left out when empty, as above: a
    # policy recorded before it reads an address by its state alone, as it decided (P5).
    us_zip_prefixes: dict[str, tuple[ZipPrefixRange, ...]] = Field(
        default_factory=dict, exclude_if=lambda v: not v
    )
    # Prefixes that also hold another place's codes (06390 Fishers Island, NY in CT's 063): they
    # add their state beside the one written, but never stand for one that cannot be read.
    us_zip_prefixes_shared: tuple[ZipPrefixRange, ...] = Field(
        default=(), exclude_if=lambda v: not v
    )

    @model_validator(mode="after")
    def _region_names_are_states(self) -> ZonesData:
        read: dict[str, str] = {}
        for code, spellings in self.us_region_names.items():
            if code not in self.us_states:
                raise ValueError(f"us_region_names: {code} is not in us_states")
            for spelling in (code, *spellings):
                key = region_key(spelling)
                if not key:
                    raise ValueError(f"us_region_names: {spelling!r} has no letters")
                if read.setdefault(key, code) != code:
                    raise ValueError(
                        f"us_region_names: {spelling!r} is read as both {read[key]} and {code}"
                    )
        return self

    @model_validator(mode="after")
    def _zip_prefixes_are_states(self) -> ZonesData:
        unknown = sorted(set(self.us_zip_prefixes) - set(self.us_states))
        if unknown:
            raise ValueError(f"us_zip_prefixes: {', '.join(unknown)} not in us_states")
        given = zip_prefix_states(self.us_zip_prefixes)  # raises on a range backwards or twice
        shared = zip_prefixes("us_zip_prefixes_shared:", self.us_zip_prefixes_shared)
        unknown = sorted(set(shared) - set(given))
        if unknown:
            raise ValueError(f"us_zip_prefixes_shared: {', '.join(unknown)} given to no state")
        return self


def zip_prefixes(where: str, ranges: tuple[str, ...]) -> list[str]:
    """Every 3-digit ZIP code prefix ``ranges`` name ("010-027" is 010, 011, ... 027)."""
    found: list[str] = []
    for written in ranges:
        first, _, last = written.partition("-")
        if int(last or first) < int(first):
            raise ValueError(f"{where} {written} runs backwards")
        found.extend(f"{n:03d}" for n in range(int(first), int(last or first) + 1))
    return found


def zip_prefix_states(prefixes: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """3-digit ZIP code prefix -> the state or territory ``us_zip_prefixes`` gives it."""
    states: dict[str, str] = {}
    for code, ranges in prefixes.items():
        for prefix in zip_prefixes(f"us_zip_prefixes: {code}", ranges):
            if states.setdefault(prefix, code) != code:
                raise ValueError(
                    f"us_zip_prefixes: {prefix} is given to both {states[prefix]} and {code}"
                )
    return states


def region_key(text: str) -> str:
    """A region as written, reduced to what identifies it: its letters, upper case, an ISO 3166-2
    code without its "US-" ("US-MA" and " ma " -> "MA"; "Mass." -> "MASS"; "N. Y." -> "NY")."""
    head, sep, tail = text.strip().partition("-")
    if sep and head.strip().upper() == "US":
        text = tail
    return "".join(ch for ch in text.upper() if "A" <= ch <= "Z")


class Override(_Strict):
    """Change numbers of one rule in the combined policy, addressed by counter key or rule id."""

    rule: str
    pack: str | None = None
    max: Cap | None = None
    rolling_days: int | None = Field(default=None, ge=1, le=366)
    block_days: int | None = Field(default=None, ge=1, le=366)
    start: LocalTime | None = None
    end: LocalTime | None = None
    no_contact_on_public_holidays: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Override:
        # An override naming a rule and nothing to change is a mistake (a field left out, or
        # indented under the wrong key): accepted, the operator would believe it applied.
        if self.model_fields_set <= {"rule", "pack"}:
            raise ValueError(
                "changes nothing: give max, rolling_days, block_days, start, end"
                " or no_contact_on_public_holidays"
            )
        return self


class PolicyFile(_Strict):
    policy: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    packs: tuple[str, ...] = Field(min_length=1)
    overrides: tuple[Override, ...] = ()
