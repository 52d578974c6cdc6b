"""An independent checker of the contact rules, written from the rule table in
shared/reference/compliance-rules.md (sections 1.1-1.5), NOT from the gate's code or packs.

It answers one question, slowly and plainly: if this contact happened at ``intent.at``, which
rules would it break? It knows only the fixed places the property tests generate (its own small
table below), looks at local clocks with zoneinfo, and counts history with plain loops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from contracts.outcomes import OutcomeKind as O
from contracts.values import Address, Channel, EmailKind, PartyRole, PhoneType, Purpose
from services.compliance.core.model import AttemptRecord, ConsentRecord, GateInput


@dataclass(frozen=True)
class Place:
    zones: tuple[str, ...]
    jurisdictions: tuple[str, ...]


# The places the generators use, with the facts the rule table needs (RF-7: every one counts).
def _tzdata_zones(country: str) -> tuple[str, ...]:
    """The zones tzdata's zone.tab lists for a country, read here, not through the gate."""
    tab = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in tab.splitlines() if not line.startswith("#")]
    return tuple(sorted(row[2] for row in rows if row[0] == country))


# RF-7 / RF-6: "An unknown location takes the strictest known window of the person's country":
# every zone tzdata lists for the US (the fifty states and DC; the territories have codes of their
# own there), so a window must hold from Hawaii to Maine.
US_ANYWHERE = _tzdata_zones("US")

# Where a US address may be when its state cannot be read: any state, so each stricter state's
# and New York City's rules bind too ("the strictest known" reading of RF-7, for rules as for time).
US_ANY_STATE = ("US", "US-MA", "US-NYC", "US-WA")

# (country, region as written, city, postal code) -> place.
ADDRESS_PLACES: dict[tuple[str, str | None, str | None, str | None], Place] = {
    ("US", "NY", "Albany", "12207"): Place(("America/New_York",), ("US",)),
    # No ZIP code to place it outside New York City, which it may be in (6 RCNY 5-77).
    ("US", "NY", "Albany", None): Place(("America/New_York",), ("US", "US-NYC")),
    ("US", "NY", "Jamaica", None): Place(("America/New_York",), ("US", "US-NYC")),  # Queens
    ("US", "MA", "Boston", None): Place(("America/New_York",), ("US", "US-MA")),
    # A state is a state however the address spells it.
    ("US", "Massachusetts", "Worcester", "01608"): Place(("America/New_York",), ("US", "US-MA")),
    ("US", "US-MA", "Springfield", "01103"): Place(("America/New_York",), ("US", "US-MA")),
    ("US", "Wash.", "Tacoma", "98402"): Place(("America/Los_Angeles",), ("US", "US-WA")),
    ("US", "NY", "New York", None): Place(("America/New_York",), ("US", "US-NYC")),
    ("US", "WA", "Seattle", None): Place(("America/Los_Angeles",), ("US", "US-WA")),
    ("US", "TX", "Austin", None): Place(("America/Chicago", "America/Denver"), ("US",)),
    # Arizona keeps standard time, but the Navajo Nation in its north-east observes DST.
    ("US", "AZ", "Window Rock", None): Place(("America/Phoenix", "America/Denver"), ("US",)),
    ("US", None, None, None): Place(US_ANYWHERE, US_ANY_STATE),  # somewhere in the US
    ("US", "Atlantis", "Somewhere", "00001"): Place(US_ANYWHERE, US_ANY_STATE),  # 000: no state's
    # A ZIP code is a place too: Salem, Massachusetts' beside the "NH" written; Manhattan's beside
    # California (New York City's rules, Eastern time); Boston's for a state nobody can read; New
    # Jersey's places an NY address outside the city.
    ("US", "NH", "Salem", "01970"): Place(("America/New_York",), ("US", "US-MA")),
    ("US", "CA", "Los Angeles", "10001"): Place(
        ("America/Los_Angeles", "America/New_York"), ("US", "US-NYC")
    ),
    ("US", "Atlantis", "Boston", "02108"): Place(("America/New_York",), ("US", "US-MA")),
    ("US", "NY", "Albany", "07302"): Place(("America/New_York",), ("US",)),
    # Majuro's ZIP code shares Guam's prefix, and "MH" is no state: anywhere in the US.
    ("US", "MH", "Majuro", "96960"): Place(US_ANYWHERE, US_ANY_STATE),
    ("CN", "SH", "Shanghai", None): Place(("Asia/Shanghai",), ("CN",)),
    ("GB", None, "London", None): Place(("Europe/London",), ("GB",)),
    # No pack covers Canada, and zones.yaml has no Canadian places: every zone tzdata lists.
    ("CA", "ON", "Toronto", None): Place(_tzdata_zones("CA"), ("CA",)),
}
PHONE_PLACES: dict[str, Place] = {
    "+15185550100": Place(("America/New_York",), ("US",)),
    # 212 and 718 are used only in New York City: the person may be there (RF-7).
    "+12125550100": Place(("America/New_York",), ("US", "US-NYC")),
    "+17185550100": Place(("America/New_York",), ("US", "US-NYC")),
    "+18005550199": Place(US_ANYWHERE, ("US",)),  # toll-free: anywhere in the US
    "+16175550100": Place(("America/New_York",), ("US", "US-MA")),
    "+12065550100": Place(("America/Los_Angeles",), ("US", "US-WA")),
    "+14155550100": Place(("America/Los_Angeles",), ("US",)),
    "+13125550100": Place(("America/Chicago",), ("US",)),
    "+8613800138000": Place(("Asia/Shanghai",), ("CN",)),
    "+447911123456": Place(("Europe/London",), ("GB",)),
    "+14165550100": Place(("America/Toronto",), ("CA",)),
}

NOT_SENT = {O.EXPIRED, O.CANCELLED}
# A call whose disposition is not known: reserved and not reported on (None), taken by the vendor
# ("accepted", recorded as the phone starts ringing; "delivered" says no more), or never to be
# known. It may have been a conversation, a wrong party or no answer at all, so every rule that
# counts one of those counts it (P1: only what the history proves compliant is allowed).
UNDISPOSED_CALL = {None, O.ACCEPTED, O.DELIVERED, O.OUTCOME_UNKNOWN}


def place_of(address: Address) -> Place:
    return ADDRESS_PLACES[(address.country, address.region, address.city, address.postal_code)]


def where(inp: GateInput) -> tuple[set[str], set[str]]:
    zones: set[str] = set()
    juris: set[str] = set()
    for address in inp.party.addresses + inp.borrower_addresses:
        juris.update(place_of(address).jurisdictions)
    for address in inp.party.addresses:
        zones.update(place_of(address).zones)
    for phone in inp.party.phones:
        zones.update(PHONE_PLACES[phone.number].zones)
        juris.update(PHONE_PLACES[phone.number].jurisdictions)
    return zones, juris


def _local_times(at: datetime, zones: set[str]) -> list[datetime]:
    return [at.astimezone(ZoneInfo(z)) for z in sorted(zones)]


def _between(t: time, start: time, end: time) -> bool:
    return start <= t < end if start < end else (t >= start or t < end)


def _phone_type(inp: GateInput, to: str | None) -> PhoneType | None:
    return next((p.type for p in inp.party.phones if p.number == to), None)


def given(c: ConsentRecord) -> tuple[datetime, datetime]:
    """When the person gave a record, for ordering: as received, but never after Parley
    processed it (a later stamp is another system's clock running ahead), then as processed."""
    return min(c.received_at, c.processed_at), c.processed_at


def _consent_state(inp: GateInput) -> tuple[ConsentRecord | None, list[ConsentRecord]]:
    """(standing revocation, standing grants). Plain reading: a grant binds from its effective
    time, a revocation from its effective time or once processed if that is sooner (P6); of two
    records the one received later is later; a later grant undoes a revocation only if it names
    the address and the purpose wherever the revocation does; any later revocation undoes a
    grant."""
    i = inp.intent

    def binds_from(c: ConsentRecord) -> datetime:
        return c.effective_at if c.granted else min(c.effective_at, c.processed_at)

    def same_address(c: ConsentRecord) -> bool:
        if c.address is None or i.to is None:
            return c.address is None
        if i.channel is Channel.EMAIL:
            return c.address.lower() == i.to.lower()
        return c.address == i.to

    mine = [
        c
        for c in inp.consents
        if c.channel == i.channel
        and same_address(c)
        and (c.purpose is None or c.purpose == i.purpose)
        and binds_from(c) <= i.at
    ]

    def later(a: ConsentRecord, b: ConsentRecord) -> bool:
        return given(a) > given(b)

    def as_narrow(g: ConsentRecord, r: ConsentRecord) -> bool:
        return (r.address is None or g.address is not None) and (
            r.purpose is None or g.purpose is not None
        )

    revoked = [
        r
        for r in mine
        if not r.granted and not any(g.granted and later(g, r) and as_narrow(g, r) for g in mine)
    ]
    grants = [
        g for g in mine if g.granted and not any((not r.granted) and later(r, g) for r in mine)
    ]
    latest = max(revoked, key=given, default=None)
    return latest, grants


# TC-5, waived to 2027-01-31: a revocation in reply to one kind of message stops every robocall
# and robotext, on unrelated matters too. Read from the day's start in Washington or wherever the
# person may be, whichever comes first.
REVOKE_ALL_FROM = date(2027, 1, 31)
ROBO = (Channel.CALL, Channel.SMS)


def _revoke_all_binds(at: datetime, zones: set[str]) -> bool:
    return any(t.date() >= REVOKE_ALL_FROM for t in _local_times(at, {*zones, "America/New_York"}))


def _revoked_for_every_robocall(inp: GateInput) -> bool:
    """Some revocation given to a call or a text, for any purpose, to this number or to every
    number, binds now, and no later grant to use this contact's own medium (for this purpose,
    naming the number if the revocation did) has lifted it."""
    i = inp.intent

    def reaches(c: ConsentRecord) -> bool:
        return c.address is None or c.address == i.to

    revocations = [
        r
        for r in inp.consents
        if not r.granted
        and r.channel in ROBO
        and reaches(r)
        and min(r.effective_at, r.processed_at) <= i.at
    ]
    grants = [
        g
        for g in inp.consents
        if g.granted
        and g.channel == i.channel
        and reaches(g)
        and (g.purpose is None or g.purpose == i.purpose)
        and g.effective_at <= i.at
    ]
    return any(
        not any(
            given(g) > given(r) and (r.address is None or g.address is not None) for g in grants
        )
        for r in revocations
    )


def _confirmation_ok(inp: GateInput, revocation: ConsentRecord | None) -> bool:
    """TC-4: one confirmation text within 5 minutes of the opt-out."""
    i = inp.intent
    if revocation is None or i.purpose != Purpose.OPT_OUT_CONFIRMATION:
        return False
    if i.channel != Channel.SMS:  # a text, not a call or an email
        return False
    if i.at > revocation.received_at + timedelta(minutes=5):
        return False
    sent = [
        a
        for a in inp.attempts
        if a.purpose == Purpose.OPT_OUT_CONFIRMATION
        and a.to == i.to
        and a.channel == i.channel
        and a.at >= revocation.received_at
    ]
    return not sent


def suppress_violations(inp: GateInput) -> set[str]:
    """Rules that no amount of waiting fixes (holds, consent, destination)."""
    i, party = inp.intent, inp.party
    zones, juris = where(inp)
    us = "US" in juris
    broken: set[str] = set()
    timed = i.channel in (Channel.CALL, Channel.SMS, Channel.EMAIL)
    if i.channel in (Channel.CALL, Channel.SMS) and i.to not in {p.number for p in party.phones}:
        broken.add("destination")
    if i.channel == Channel.EMAIL and i.to not in {e.address for e in party.emails}:
        broken.add("destination")
    if i.channel == Channel.LETTER and not party.addresses:
        broken.add("destination")
    if timed and not zones:
        broken.add("no zone")
    if inp.debt.disputed and i.purpose != Purpose.DISPUTE_RESPONSE:
        broken.add("dispute")
    if party.cease_all or i.loan_id in party.cease_loans:
        acks = [
            a
            for a in inp.attempts
            if a.loan_id == i.loan_id
            and a.purpose == Purpose.CEASE_ACKNOWLEDGEMENT
            and a.outcome not in NOT_SENT
        ]
        if i.purpose != Purpose.CEASE_ACKNOWLEDGEMENT or (us and len(acks) >= 3):
            broken.add("cease")
    if i.loan_id in party.attorney_loans:
        broken.add("attorney")
    if party.bankrupt or party.deceased:
        broken.add("bankrupt/deceased")
    # Not in the rule table: the Bankruptcy Code's co-debtor stay (11 U.S.C. 1301, 1201), which
    # the US pack adds. A guarantor of a debt whose borrower's case stays co-debtors.
    if us and party.role == PartyRole.GUARANTOR and inp.debt.co_debtor_stay:
        broken.add("co-debtor stay")
    revocation, grants = _consent_state(inp)
    # UK-1: every text, call and email is automated; a letter is not stopped (ADR 0011).
    if "GB" in juris and party.vulnerable and i.channel in MEDIA:
        broken.add("UK-1")
    # RF-9: an employer-provided address only with the consumer's consent to that address.
    address_consent = revocation is None and any(g.address is not None for g in grants)
    if (
        us
        and i.channel == Channel.EMAIL
        and any(e.address == i.to and e.kind == EmailKind.WORK for e in party.emails)
        and not address_consent
    ):
        broken.add("RF-9 email")
    to_work = _phone_type(inp, i.to) == PhoneType.WORK
    at_work = i.channel in (Channel.CALL, Channel.SMS) and party.no_contact_at_work and to_work
    if us and at_work:
        broken.add("RF-9 work")
    if "GB" in juris and at_work:  # UK-2: a request about where is honoured
        broken.add("UK-2 work")
    if party.role == PartyRole.CONTACT_PERSON:
        if us:
            earlier = [
                a
                for a in inp.attempts
                if a.purpose == Purpose.LOCATION_INQUIRY and a.outcome not in NOT_SENT
            ]
            if i.purpose != Purpose.LOCATION_INQUIRY or earlier:
                broken.add("RF-13")
        if "CN" in juris and (
            party.third_party_refused
            or not party.debtor_unreachable
            or i.purpose != Purpose.LOCATION_INQUIRY  # never told of the debt (CN-3, CN-5)
        ):
            broken.add("CN-3 third party")
    exempt = us and _confirmation_ok(inp, revocation)
    if revocation is not None and not exempt:
        broken.add("opt-out")
    robo = us and i.channel in ROBO and not exempt
    if robo and _revoke_all_binds(i.at, zones) and _revoked_for_every_robocall(inp):
        broken.add("TC-5")
    mobile = _phone_type(inp, i.to) == PhoneType.MOBILE
    has_consent = revocation is None and bool(grants)
    has_written = revocation is None and any(g.written for g in grants)
    if (
        us
        and i.channel in (Channel.CALL, Channel.SMS)
        and mobile
        and not exempt
        and not has_consent
    ):
        broken.add("TC-1")
    nyc_media = i.channel in (Channel.SMS, Channel.EMAIL)
    if "US-NYC" in juris and nyc_media and not exempt and not has_written:
        broken.add("NYC written consent")
    return broken


def _window_violations(inp: GateInput, zones: set[str], juris: set[str]) -> set[str]:
    i = inp.intent
    broken: set[str] = set()
    if i.channel not in (Channel.CALL, Channel.SMS, Channel.EMAIL):
        return broken
    windows = []
    if "US" in juris:
        windows.append(("RF-6", time(8), time(21)))
    if "CN" in juris:
        windows.append(("CN", time(8), time(22)))
    if "GB" in juris:
        windows.append(("UK-3", time(8), time(21)))
    if not juris & {"US", "CN", "GB"}:  # no pack but the baseline: Parley's own hours
        windows.append(("P1-HOURS", time(8), time(21)))
    for local in _local_times(i.at, zones):
        for name, start, end in windows:
            if not start <= local.time() < end:
                broken.add(name)
        if "US" in juris or "GB" in juris:
            for r in inp.party.inconvenient_times:
                if r.start != r.end and _between(local.time(), r.start, r.end):
                    broken.add("stated times")
    return broken


def _sent(a: AttemptRecord) -> bool:
    return a.outcome not in NOT_SENT


def _rolling(inp: GateInput, days: int, keep: Callable[[AttemptRecord], bool]) -> int:
    at = inp.intent.at
    return sum(1 for a in inp.attempts if at - timedelta(days=days) < a.at <= at and keep(a))


PERSONAL = (PhoneType.MOBILE, PhoneType.HOME)
MEDIA = (Channel.CALL, Channel.SMS, Channel.EMAIL)


def _us_call_caps(inp: GateInput, zones: set[str]) -> set[str]:
    """RF-1 (7 placed calls in 7 days per debt) and RF-2 (no call until day 8 after a conversation)."""
    i = inp.intent
    broken: set[str] = set()

    def placed(a: AttemptRecord) -> bool:
        # RF-3: calls that never connect (a busy signal, a network failure) are not counted.
        excluded = {O.NOT_CONNECTED, O.BUSY, O.FAILED, *NOT_SENT}
        return a.loan_id == i.loan_id and a.channel == Channel.CALL and a.outcome not in excluded

    if _rolling(inp, 7, placed) >= 7:
        broken.add("RF-1")
    for a in inp.attempts:
        # RF-2 after a conversation; a call whose disposition is not known (see UNDISPOSED_CALL)
        # may have been one, and only what the history proves compliant is allowed (P1).
        if (
            a.loan_id == i.loan_id
            and a.channel == Channel.CALL
            and (a.outcome == O.CONVERSATION_RIGHT_PARTY or a.outcome in UNDISPOSED_CALL)
        ):
            for z in zones:
                zone = ZoneInfo(z)
                day8 = a.at.astimezone(zone).date() + timedelta(days=7)
                if i.at < datetime(day8.year, day8.month, day8.day, tzinfo=zone):
                    broken.add("RF-2")
    return broken


def _ma_caps(inp: GateInput) -> set[str]:
    """MA: 2 calls/texts per 7 days to personal numbers, 2 per 30 days to others, per debt."""
    i = inp.intent
    to_personal = _phone_type(inp, i.to) in PERSONAL

    def contact(a: AttemptRecord) -> bool:
        same_kind = (_phone_type(inp, a.to) in PERSONAL) == to_personal
        return (
            a.loan_id == i.loan_id
            and a.channel in (Channel.CALL, Channel.SMS)
            and _sent(a)
            and same_kind
        )

    return {"MA"} if _rolling(inp, 7 if to_personal else 30, contact) >= 2 else set()


def _nyc_wa_caps(inp: GateInput, juris: set[str]) -> set[str]:
    i = inp.intent
    broken: set[str] = set()

    def nyc(a: AttemptRecord) -> bool:
        return a.loan_id == i.loan_id and a.channel in MEDIA and _sent(a)

    def any_media(a: AttemptRecord) -> bool:
        return a.channel in MEDIA and _sent(a)

    def at_work(a: AttemptRecord) -> bool:
        return any_media(a) and _phone_type(inp, a.to) == PhoneType.WORK

    if "US-NYC" in juris and _rolling(inp, 7, nyc) >= 3:
        broken.add("NYC")
    if "US-WA" in juris and _rolling(inp, 7, any_media) >= 3:
        broken.add("WA")
    work_intent = (
        i.channel in (Channel.CALL, Channel.SMS) and _phone_type(inp, i.to) == PhoneType.WORK
    )
    if "US-WA" in juris and work_intent and _rolling(inp, 7, at_work) >= 1:
        broken.add("WA work")
    return broken


def _cn_caps(inp: GateInput, zones: set[str]) -> set[str]:
    """CN-2/CN-3: 3 connected calls or conversations a day; CN-4: 6 unanswered dials a number."""
    i = inp.intent
    broken: set[str] = set()
    # A call with no known disposition may have been any of these (see UNDISPOSED_CALL).
    talk = {O.CONVERSATION_RIGHT_PARTY, *UNDISPOSED_CALL}
    connected = talk | {O.CONVERSATION_WRONG_PARTY}
    unanswered = {O.NO_ANSWER, O.BUSY, O.NOT_CONNECTED, O.VOICEMAIL_LEFT, *UNDISPOSED_CALL}
    for z in zones:
        zone = ZoneInfo(z)
        day = i.at.astimezone(zone).date()
        today = [
            a
            for a in inp.attempts
            if a.channel == Channel.CALL and a.at.astimezone(zone).date() == day
        ]
        if (
            sum(a.outcome in talk for a in today) >= 3
            or sum(a.outcome in connected for a in today) >= 3
        ):
            broken.add("CN-2/3")
        # CN-4 is per contact number: dials to it while seeking someone else count too.
        others = [
            a
            for a in inp.number_attempts
            if a.channel == Channel.CALL and a.at.astimezone(zone).date() == day
        ]
        if sum(a.to == i.to and a.outcome in unanswered for a in today + others) >= 6:
            broken.add("CN-4")
    return broken


def _cap_violations(inp: GateInput, zones: set[str], juris: set[str]) -> set[str]:
    channel = inp.intent.channel
    broken: set[str] = set()
    if "US" in juris and channel == Channel.CALL:
        broken |= _us_call_caps(inp, zones)
    if "US-MA" in juris and channel in (Channel.CALL, Channel.SMS):
        broken |= _ma_caps(inp)
    if channel in MEDIA:
        broken |= _nyc_wa_caps(inp, juris)
    if "CN" in juris and channel == Channel.CALL:
        broken |= _cn_caps(inp, zones)
    return broken


def time_violations(inp: GateInput) -> set[str]:
    """Rules that waiting can fix: local windows, stated times, caps and cooldowns."""
    zones, juris = where(inp)
    return _window_violations(inp, zones, juris) | _cap_violations(inp, zones, juris)


def violations(inp: GateInput) -> set[str]:
    return suppress_violations(inp) | time_violations(inp)
