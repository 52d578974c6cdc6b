"""Candidate time zones and jurisdictions of a person (RF-7: every candidate location counts).

Sources, in this order, all kept: each address (US state or territory -> its zones from
zones.yaml; country alone -> the country's fallback zones), each phone number (area-code-level
zones from ``phonenumbers``; non-geographic numbers -> the territory's or country's fallback zones)
and the declared zone. A US region is read by the spellings the zones data lists ("ma", "US-MA",
"Massachusetts" and "Mass." are MA); one that cannot be read, or none, may be any state, and
brings every state's rules (``unreadable_us_region``). A US address's ZIP code is a place too: the
state USPS gives its prefix counts beside the state written, and stands for it when that cannot be
read (``us_zip_prefixes``). A US territory (GU, PR, ...) is part of the US whether it is written
as a country or as a US region.

Everything is read from one version of the zones data, a policy's (``Policy.places``): the data
is part of the policy version, so the audit re-proves an old decision with the zones it was made
with (P5), the countries tzdata gave when that policy was built included.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from weakref import WeakSet

import phonenumbers
from phonenumbers import timezone as pn_timezone

from contracts.values import Address
from services.compliance.core import schema
from services.compliance.core.localtime import loadable_zone
from services.compliance.core.model import PartyFacts

_NANP = 1  # +1: the region comes from the number itself (US, CA, PR ...), not the country code

_Where = tuple[tuple[str, ...], tuple[str, ...]]
_WHERE_SIZE = 16384
_EVERY: WeakSet[Places] = WeakSet()  # for ``forget``


def forget() -> None:
    """Forget what every ``Places`` remembers (each is bounded already)."""
    for places in list(_EVERY):
        places.forget()


def tzdata_countries() -> dict[str, tuple[str, ...]]:
    """Country code -> every zone tzdata's zone.tab lists for it (that this zoneinfo can load);
    recorded in a policy's zones data when the policy is built."""
    return dict(_zone_tab())


@cache
def _zone_tab() -> dict[str, tuple[str, ...]]:
    # Read once a process: every policy built reads it, and it cannot change under a process.
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _, name, *_ = line.split("\t")
        if loadable_zone(name):
            found.setdefault(country, set()).add(name)
    return {country: tuple(sorted(names)) for country, names in sorted(found.items())}


class Places:
    """Where a person may be, and whose rules bind there, by one version of the zones data."""

    def __init__(self, data: schema.ZonesData) -> None:
        self.data = data
        _EVERY.add(self)
        # Per instance, so each version of the data has its own answers.
        self._phone = lru_cache(maxsize=65536)(self._phone_uncached)
        self._address_zones = lru_cache(maxsize=65536)(self._address_zones_uncached)
        self._zones_of = lru_cache(maxsize=16384)(self._zones_of_uncached)
        self._jurisdictions_of = lru_cache(maxsize=16384)(self._jurisdictions_of_uncached)
        # (ids of the addresses, phones and borrower addresses, declared zone) -> (those tuples,
        # zones, jurisdictions). The orchestrator's state hands the same tuples to every decision
        # about a person, so identity finds them without hashing addresses; the entry keeps the
        # tuples alive so their ids cannot be reused while it lives. Tuples of frozen values:
        # identity implies content.
        self._where: dict[tuple[int, int, int, str | None], tuple[tuple[object, ...], _Where]] = {}
        # How addresses write each US state -> its code (``region_key``); empty in a policy
        # recorded before zones data named spellings, which reads regions as it did.
        self._region_names = {
            schema.region_key(spelling): code
            for code, spellings in data.us_region_names.items()
            for spelling in (code, *spellings)
        }
        # 3-digit ZIP code prefix -> its state; empty in a policy recorded before zones data gave
        # them, which reads an address by its state alone.
        self._zip_states = schema.zip_prefix_states(data.us_zip_prefixes)
        self._zip_shared = frozenset(
            schema.zip_prefixes("us_zip_prefixes_shared:", data.us_zip_prefixes_shared)
        )
        # Where a US address whose state cannot be read, and whose ZIP code cannot stand for one
        # (``_places``), may be: every state and DC (not the territories, as for its zones) and
        # New York City.
        self._every_state: tuple[str, ...] = ()
        if data.unreadable_us_region == "every_state":
            territories = set(data.us_territories)
            states = (f"US-{code}" for code in data.us_states if code not in territories)
            self._every_state = (*states, f"US-{data.nyc.region}-NYC")

    def forget(self) -> None:
        self._where.clear()
        self._zones_of.cache_clear()
        self._jurisdictions_of.cache_clear()

    def whereabouts(self, party: PartyFacts, borrower_addresses: tuple[Address, ...]) -> _Where:
        """``(candidate_zones(party), jurisdictions(party, borrower_addresses))``."""
        addresses, phones = party.addresses, party.phones
        key = (id(addresses), id(phones), id(borrower_addresses), party.declared_time_zone)
        entry = self._where.get(key)
        if entry is not None:
            held, found = entry
            if held[0] is addresses and held[1] is phones and held[2] is borrower_addresses:
                return found
        found = (self.candidate_zones(party), self.jurisdictions(party, borrower_addresses))
        if len(self._where) >= _WHERE_SIZE:
            self._where.clear()
        self._where[key] = ((addresses, phones, borrower_addresses), found)
        return found

    def candidate_zones(self, party: PartyFacts) -> tuple[str, ...]:
        """Every IANA zone the person may be in, sorted."""
        numbers = tuple(phone.number for phone in party.phones)
        return self._zones_of(party.addresses, numbers, party.declared_time_zone)

    def home_zone(self, addresses: tuple[Address, ...], numbers: tuple[str, ...]) -> str | None:
        """The one zone a person's day is planned in (the strategy's; the gate checks every
        candidate zone): the first zone listed for their first address, else for their first
        phone. Listed order (zones.yaml), not alphabetical: Arizona plans in Phoenix time, not
        the Navajo Nation's, and a US address with no state in Eastern time, not Adak's."""
        for address in addresses:
            zones = self._address_zones(address)
            if zones:
                return zones[0]
        for number in numbers:
            zones = self._phone(number)[1]
            if zones:
                return zones[0]
        return None

    def jurisdictions(
        self, party: PartyFacts, borrower_addresses: tuple[Address, ...] = ()
    ) -> tuple[str, ...]:
        """Jurisdiction codes (US, US-MA, US-NY-NYC, US-WA, CN, GB, ...) of the person and the
        debt."""
        numbers = tuple(phone.number for phone in party.phones)
        return self._jurisdictions_of((*party.addresses, *borrower_addresses), numbers)

    # -- the parts ------------------------------------------------------------------------------

    def _place(self, country: str, region: str | None) -> tuple[str, str | None]:
        """(country, region), a territory moved under US. A US region is read by its spellings
        (``us_region_names``) to its code, or None when it cannot be; any other region, and
        every region under data that names no spellings, is stripped and upper-cased."""
        if country in self.data.us_territories:
            return "US", country
        if country == "US" and self._region_names:
            return "US", self._region_names.get(schema.region_key(region or ""))
        return country, (region or "").strip().upper() or None

    def _places(self, address: Address) -> tuple[tuple[str, str | None], ...]:
        """Where an address may be, as (country, region): as written (``_place``) and, for a US
        address, in the state its ZIP code's prefix is given (RF-7: an "NH" address with a Boston
        ZIP code may be in either). A state that cannot be read gives way to the ZIP code's, when
        the ZIP code can say it alone: the address then names one place, not none."""
        place = self._place(address.country, address.region)
        country, region = place
        if country != "US" or not self._zip_states:
            return (place,)
        digits = _zip_digits(address.postal_code or "")
        if digits is None or len(digits) not in (4, 5, 8, 9):
            return (place,)
        # Four digits: a spreadsheet dropped the leading zero (New England, New Jersey, 005, the
        # Caribbean territories). Eight: that, or a ZIP+4 whose last part lost its zero
        # ("02108-123"); both readings count.
        read = {4: ("0" + digits,), 8: ("0" + digits, digits)}.get(len(digits), (digits,))
        zipped = [
            ("US", state)
            for state in dict.fromkeys(self._zip_states.get(code[:3]) for code in read)
            if state is not None and state != region
        ]
        if not zipped:
            return (place,)
        if region is not None:
            return (place, *zipped)
        # Alone it stands for the state only when read one way, and where its prefix holds no
        # other place's codes (969: Guam's, and Palau's, Micronesia's, the Marshall Islands').
        # Else the address may be anywhere, as before (``unreadable_us_region``).
        if len(digits) in (4, 8) or digits[:3] in self._zip_shared:
            return (place,)
        if _names_nyc(address, self.data):
            # "Brooklyn" with a Hoboken ZIP code: the city named is still a place.
            return tuple(dict.fromkeys((*zipped, ("US", self.data.nyc.region))))
        return tuple(zipped)

    def _phone_uncached(
        self, number: str
    ) -> tuple[str | None, tuple[str, ...], str | None, str | None]:
        """(country, zones, area code, region) of an E.164 number.

        The area code is given for US numbers, the region for numbers of a US territory only.
        """
        try:
            parsed = phonenumbers.parse(number)
        except phonenumbers.NumberParseException:
            return None, (), None, None
        if parsed.country_code is None:
            return None, (), None, None
        if parsed.country_code == _NANP:
            country = phonenumbers.region_code_for_number(parsed)
        else:
            # GB mobiles resolve to GG/JE/IM by number; the regulator is still the country code's.
            country = phonenumbers.region_code_for_country_code(parsed.country_code)
        if country in (None, "ZZ", "001"):
            return None, (), None, None
        # +1 671 is region GU to phonenumbers, but Guam is in the US: federal rules apply there.
        country, region = self._place(country, None)
        zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
        if not zones or len(zones) > self.data.max_zones_per_number:
            zones = self._fallback_zones(country, region)
        area = str(parsed.national_number)[:3] if country == "US" else None
        return country, zones, area, region

    def _fallback_zones(self, country: str, region: str | None) -> tuple[str, ...]:
        data = self.data
        if country == "US" and region in data.us_states:
            return data.us_states[region]
        # Unknown place inside the country: the country's strictest set (for the US every zone
        # of the states, whose windows intersect to 08:00 Hawaii - 21:00 Eastern). A country
        # zones.yaml does not list takes every zone tzdata gave it: a Canadian address is
        # somewhere from St John's to Dawson, and only no zone at all (P1-ZONE) was safer than
        # ignoring it.
        listed = data.countries.get(country)
        return listed if listed is not None else data.tzdata_countries.get(country, ())

    def _address_zones_uncached(self, address: Address) -> tuple[str, ...]:
        # In listed order, the state as written first: home_zone plans in its first zone.
        zones: dict[str, None] = {}
        for place in self._places(address):
            zones.update(dict.fromkeys(self._fallback_zones(*place)))
        return tuple(zones)

    def _zones_of_uncached(
        self, addresses: tuple[Address, ...], numbers: tuple[str, ...], declared: str | None
    ) -> tuple[str, ...]:
        found: set[str] = set()
        for address in addresses:
            found.update(self._address_zones(address))
        for number in numbers:
            found.update(self._phone(number)[1])
        if declared and loadable_zone(declared):
            found.add(declared)
        return tuple(sorted(found))

    def _jurisdictions_of_uncached(
        self, addresses: tuple[Address, ...], numbers: tuple[str, ...]
    ) -> tuple[str, ...]:
        data = self.data
        found: set[str] = set()
        for address in addresses:
            for country, region in self._places(address):
                found.add(country)
                if country == "US" and region:
                    found.add(f"US-{region}")
                    if _is_nyc(address, region, data):
                        found.add("US-NY-NYC")
                elif country == "US":
                    found.update(self._every_state)  # empty unless the data says so
        for number in numbers:
            phone_country, _, area, territory = self._phone(number)
            if phone_country:
                found.add(phone_country)
            if phone_country == "US" and territory:
                found.add(f"US-{territory}")
            for code, areas in data.us_area_codes.items():
                if area is not None and area in areas:
                    found.update(_with_parents(code))
        return tuple(sorted(found))


def _with_parents(code: str) -> tuple[str, ...]:
    """A jurisdiction code and those it lies in: US-NY-NYC is in US-NY and US, as an address in
    New York City brings all three."""
    parts = code.split("-")
    return tuple("-".join(parts[:n]) for n in range(1, len(parts) + 1))


def _names_nyc(address: Address, data: schema.ZonesData) -> bool:
    """Whether the address's city is one of New York City's names ("Brooklyn", "NYC")."""
    return (address.city or "").strip().casefold() in data.nyc.cities


def _is_nyc(address: Address, region: str, data: schema.ZonesData) -> bool:
    if region != data.nyc.region:
        return False
    postal = (address.postal_code or "").strip()
    if (
        _names_nyc(address, data)
        or postal[:3] in data.nyc.postal_prefixes
        or postal[:5] in data.nyc.postal_codes  # ZIP+4 "11004-1234" is 11004
    ):
        return True
    # With no ZIP code to say otherwise, the address may be in the city (a neighbourhood name).
    return bool(data.nyc.outside_only_by_postal_code) and not _zip_code(postal)


def _zip_digits(postal: str) -> str | None:
    """The digits of a postal code, in ASCII, whatever script they are written in and whatever
    spaces, dashes or invisible marks lie between them ("02108 1234", an en dash, fullwidth
    digits, a right-to-left mark before Arabic-Indic ones); None if anything else is in it
    ("MA 02108")."""
    digits: list[str] = []
    for ch in postal:
        value = unicodedata.decimal(ch, None)
        if value is not None:
            digits.append(str(value))
        elif not (ch.isspace() or ch == "\u2212" or unicodedata.category(ch) in ("Pd", "Cf")):
            return None
    return "".join(digits)


_ZIP = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")  # ASCII digits: the city's lists are written so


def _zip_code(postal: str) -> bool:
    """Whether a postal code reads as a US ZIP code: five digits, maybe "-" and four more. Not
    fullwidth or other scripts' digits, which no list matches: that would place a Queens
    address outside the city."""
    return _ZIP.fullmatch(postal) is not None
