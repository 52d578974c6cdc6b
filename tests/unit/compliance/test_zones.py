"""Candidate zones and jurisdictions: every location counts (RF-7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.decisions import Verdict
from contracts.values import Address, Channel, Phone
from services.compliance.core import load_policy
from services.compliance.core.registry import policy_document, policy_from_document
from services.compliance.core.schema import ZonesData
from tests.unit.compliance.gate_builders import (
    BOSTON,
    ET,
    LONDON_ADDR,
    NYC,
    SEATTLE,
    SHANGHAI,
    attempt,
    decide,
    grant,
    person,
    rehashed,
)

PLACES = load_policy("default").places
candidate_zones = PLACES.candidate_zones
jurisdictions = PLACES.jurisdictions


def test_state_spanning_two_zones_lists_both() -> None:
    """A Texas address without a phone could be Central or Mountain time."""
    party = person(addresses=(Address(country="US", region="TX"),), phones=())

    assert candidate_zones(party) == ("America/Chicago", "America/Denver")


def test_phone_area_code_address_and_declared_zone_all_count() -> None:
    """Address, each phone's area code and the declared zone are all candidates."""
    party = person(phones=(Phone(number="+14155550100"),), declared_time_zone="America/Denver")

    assert candidate_zones(party) == ("America/Denver", "America/Los_Angeles", "America/New_York")


def test_toll_free_number_falls_back_to_the_country() -> None:
    """A non-geographic number gives the zones of every US state, not 40 Caribbean zones."""
    party = person(addresses=(), phones=(Phone(number="+18005550100"),))

    assert candidate_zones(party) == EVERY_STATE


def test_jurisdictions_from_addresses() -> None:
    """States and NYC come from addresses; NYC by city name or postal prefix."""
    brooklyn = Address(country="US", region="NY", postal_code="11201")

    assert jurisdictions(person(addresses=(BOSTON,), phones=())) == ("US", "US-MA")
    assert jurisdictions(person(addresses=(NYC,), phones=())) == ("US", "US-NY", "US-NY-NYC")
    assert "US-NY-NYC" in jurisdictions(person(addresses=(brooklyn,), phones=()))
    assert jurisdictions(person(addresses=(SEATTLE,), phones=())) == ("US", "US-WA")
    assert jurisdictions(person(addresses=(SHANGHAI,), phones=())) == ("CN",)
    assert jurisdictions(person(addresses=(LONDON_ADDR,), phones=())) == ("GB",)


@pytest.mark.parametrize(
    ("postal_code", "in_the_city"),
    [
        ("11520", False),  # Freeport: 115 is western Nassau County
        ("11550", False),  # Hempstead
        ("11580", False),  # Valley Stream
        ("11003", False),  # Elmont: 110 is mostly Nassau County
        ("11021", False),  # Great Neck
        ("11050", False),  # Port Washington
        ("11004", True),  # Glen Oaks, Queens: 110, listed whole
        ("11005", True),  # Floral Park, Queens
        ("11004-1234", True),  # ZIP+4
        ("11691", True),  # Far Rockaway, Queens
        ("10001", True),  # Manhattan
        ("10301", True),  # Staten Island
        ("10451", True),  # the Bronx
        ("11201", True),  # Brooklyn
        ("11101", True),  # Long Island City, Queens
        ("11354", True),  # Flushing, Queens
        ("11432", True),  # Jamaica, Queens
        ("12207", False),  # Albany
    ],
)
def test_nyc_by_postal_code(postal_code: str, in_the_city: bool) -> None:
    """NYC-5-77 binds an address in the five boroughs, and only there: a whole prefix where
    all its ZIP codes are the city's, the city's codes one by one where the prefix is shared
    with Nassau County (110)."""
    address = Address(country="US", region="NY", postal_code=postal_code)

    found = jurisdictions(person(addresses=(address,), phones=()))

    assert found == (("US", "US-NY", "US-NY-NYC") if in_the_city else ("US", "US-NY"))


def test_jurisdictions_from_phone_area_codes_and_borrower_address() -> None:
    """A 617 number brings MA rules; a guarantor's debt brings the borrower's jurisdictions."""
    party = person(addresses=(), phones=(Phone(number="+16175550100"),))

    assert jurisdictions(party) == ("US", "US-MA")
    assert jurisdictions(person(addresses=(), phones=()), (SHANGHAI,)) == ("CN",)


@pytest.mark.parametrize(
    ("area", "found"),
    [
        ("212", ("US", "US-NY", "US-NY-NYC")),  # Manhattan
        ("332", ("US", "US-NY", "US-NY-NYC")),
        ("646", ("US", "US-NY", "US-NY-NYC")),
        ("917", ("US", "US-NY", "US-NY-NYC")),  # every borough
        ("718", ("US", "US-NY", "US-NY-NYC")),  # the other four boroughs
        ("347", ("US", "US-NY", "US-NY-NYC")),
        ("929", ("US", "US-NY", "US-NY-NYC")),
        ("516", ("US",)),  # Nassau County, Long Island: New York State, not the city
        ("518", ("US",)),  # Albany
    ],
)
def test_a_new_york_city_area_code_brings_the_city_and_the_state(
    area: str, found: tuple[str, ...]
) -> None:
    """NYC-5-77: an area code used only in New York City places the person there (RF-7), with
    the state it lies in, as an address in the city does."""
    party = person(addresses=(), phones=(Phone(number=f"+1{area}5550100"),))

    assert jurisdictions(party) == found


@pytest.mark.parametrize(
    ("region", "zones"),
    [
        ("AZ", ("America/Denver", "America/Phoenix")),  # the Navajo Nation keeps DST
        ("AK", ("America/Adak", "America/Anchorage")),
        ("HI", ("Pacific/Honolulu",)),
    ],
)
def test_a_state_lists_every_zone_used_inside_it(region: str, zones: tuple[str, ...]) -> None:
    """RF-7: an address naming only the state may be anywhere in it."""
    party = person(addresses=(Address(country="US", region=region),), phones=())

    assert candidate_zones(party) == zones


def test_uk_mobile_belongs_to_gb() -> None:
    """+44 7... numbers that phonenumbers places in GG/JE/IM still count as GB."""
    assert jurisdictions(person(addresses=(), phones=(Phone(number="+447911123456"),))) == ("GB",)


TERRITORIES = [
    ("PR", "America/Puerto_Rico", "+17875550100"),
    ("VI", "America/St_Thomas", "+13405550100"),
    ("GU", "Pacific/Guam", "+16715550100"),
    ("MP", "Pacific/Saipan", "+16705550100"),
    ("AS", "Pacific/Pago_Pago", "+16846221234"),
]
EVERY_STATE = (
    "America/Adak",
    "America/Anchorage",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/New_York",
    "America/Phoenix",
    "Pacific/Honolulu",
)


@pytest.mark.parametrize("region", ["MA", "ma", " MA ", "Ma"])
def test_region_is_read_stripped_and_upper_cased(region: str) -> None:
    """A region written "ma" or " MA " is Massachusetts: its zone and its jurisdiction."""
    party = person(addresses=(Address(country="US", region=region),), phones=())

    assert candidate_zones(party) == ("America/New_York",)
    assert jurisdictions(party) == ("US", "US-MA")


def test_nyc_is_found_whatever_the_case_of_the_region() -> None:
    """The NYC rules apply to region "ny" as to "NY"."""
    party = person(addresses=(Address(country="US", region=" ny", city="Brooklyn"),), phones=())

    assert jurisdictions(party) == ("US", "US-NY", "US-NY-NYC")


@pytest.mark.parametrize(("code", "zone", "_number"), TERRITORIES)
def test_territory_address_has_its_own_zone_and_us_rules(
    code: str, zone: str, _number: str
) -> None:
    """A territory written as a US region or as a country is the US, in the territory's zone."""
    as_region = person(addresses=(Address(country="US", region=code),), phones=())
    as_country = person(addresses=(Address(country=code),), phones=())

    for party in (as_region, as_country):
        assert candidate_zones(party) == (zone,)
        assert jurisdictions(party) == ("US", f"US-{code}")


@pytest.mark.parametrize(("code", "zone", "number"), TERRITORIES)
def test_territory_number_is_a_us_number_in_its_zone(code: str, zone: str, number: str) -> None:
    """phonenumbers places +1 671 in region GU; it still brings the US rules and Guam's zone."""
    party = person(addresses=(), phones=(Phone(number=number),))

    assert candidate_zones(party) == (zone,)
    assert jurisdictions(party) == ("US", f"US-{code}")


def test_territory_number_without_a_zone_falls_back_to_the_territory() -> None:
    """A +1 684 number phonenumbers cannot place falls back to Samoa, not the mainland."""
    party = person(addresses=(), phones=(Phone(number="+16845550100"),))

    assert candidate_zones(party) == ("Pacific/Pago_Pago",)
    assert jurisdictions(party) == ("US", "US-AS")


def test_unknown_us_place_is_every_state_but_no_territory() -> None:
    """An unknown place in the US takes the strictest known window of the country: every
    zone of the fifty states, Alaska and Hawaii included; a territory counts only once
    something names it."""
    unknown = person(addresses=(Address(country="US", region="ZZ"),), phones=())
    no_region = person(addresses=(Address(country="US"),), phones=())

    assert candidate_zones(unknown) == EVERY_STATE
    assert candidate_zones(no_region) == EVERY_STATE


def _recorded_without(*fields: str) -> dict[str, object]:
    """The default policy's document as a build before ``fields`` existed recorded it."""
    doc = policy_document(load_policy("default"))
    for name in fields:
        del doc["zones"][name]
    return rehashed(doc)


def test_policy_document_recorded_before_territories_still_loads() -> None:
    """Zones data without us_territories dumps without the key, so its old version still checks."""
    doc = _recorded_without("us_territories")

    policy = policy_from_document(doc)

    assert policy.version == doc["version"]
    assert policy.zones.us_territories == ()


def test_policy_document_recorded_before_nyc_postal_codes_decides_as_it_did() -> None:
    """P5: zones data without nyc.postal_codes dumps without the key, so its version still
    checks; a version that placed prefix 115 in the city still does, and not 11004."""
    doc = policy_document(load_policy("default"))
    nyc = doc["zones"]["nyc"]
    del nyc["postal_codes"]
    nyc["postal_prefixes"] = sorted([*nyc["postal_prefixes"], "115"])
    then = policy_from_document(rehashed(doc))
    freeport = Address(country="US", region="NY", city="Freeport", postal_code="11520")
    glen_oaks = Address(country="US", region="NY", city="Glen Oaks", postal_code="11004")

    assert then.version == doc["version"]
    assert then.zones.nyc.postal_codes == ()
    assert "US-NY-NYC" in then.places.jurisdictions(person(addresses=(freeport,), phones=()))
    assert "US-NY-NYC" not in then.places.jurisdictions(person(addresses=(glen_oaks,), phones=()))
    assert "US-NY-NYC" not in jurisdictions(person(addresses=(freeport,), phones=()))
    assert "US-NY-NYC" in jurisdictions(person(addresses=(glen_oaks,), phones=()))


def test_a_recorded_policy_decides_with_its_own_zones_data() -> None:
    """P5: the zones data is part of the policy version, and the gate reads the policy's own. A
    version recorded before countries came from tzdata placed a Canadian address nowhere (no
    zone: P1-ZONE); re-proving its decisions must give that again, not today's answer."""
    then = policy_from_document(_recorded_without("tzdata_countries"))
    now = load_policy("default")
    party = person(addresses=(Address(country="CA", region="ON", city="Toronto"),), phones=())

    assert then.places.candidate_zones(party) == ()
    assert "America/Toronto" in now.places.candidate_zones(party)
    assert now.zones.tzdata_countries["CA"] == now.places.candidate_zones(party)
    at = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
    assert decide(
        at, channel=Channel.EMAIL, to="pat@example.com", party=party, policy=then
    ).reasons == ("P1-ZONE",)


@pytest.mark.parametrize(
    ("region", "code"),
    [
        ("US-MA", "MA"),
        ("us-ma", "MA"),
        ("Massachusetts", "MA"),
        ("MASSACHUSETTS", "MA"),
        ("Mass.", "MA"),
        ("mass", "MA"),
        ("M.A.", "MA"),
        ("New York", "NY"),
        ("N.Y.", "NY"),
        ("US-NY", "NY"),
        ("Washington", "WA"),
        ("Wash.", "WA"),
        ("Washington, D.C.", "DC"),
        ("D.C.", "DC"),
        ("W. Va.", "WV"),
        ("Puerto Rico", "PR"),
        ("US-PR", "PR"),
    ],
)
def test_a_state_is_read_however_the_address_spells_it(region: str, code: str) -> None:
    """An address written "Massachusetts", "Mass." or "US-MA" is in MA: its zone and its rules.
    Before, only "MA" was, and the others escaped MA's cap."""
    party = person(addresses=(Address(country="US", region=region),), phones=())
    as_code = person(addresses=(Address(country="US", region=code),), phones=())

    assert jurisdictions(party) == jurisdictions(as_code)
    assert f"US-{code}" in jurisdictions(party)
    assert candidate_zones(party) == candidate_zones(as_code)


def test_massachusetts_spelled_out_is_held_to_its_cap() -> None:
    """MA-7.04 binds a Boston borrower whose address says "Massachusetts": the third contact in
    seven days to a personal number waits."""
    boston = Address(country="US", region="Massachusetts", city="Boston", postal_code="02108")
    mobile = "+15185550100"  # an Albany number: only the address says Massachusetts
    party = person(addresses=(boston,), phones=(Phone(number=mobile),))
    history = tuple(attempt(datetime(2026, 4, day, 10, 0, tzinfo=ET), to=mobile) for day in (1, 3))

    result = decide(datetime(2026, 4, 5, 10, 0, tzinfo=ET), party=party, attempts=history)

    assert result.reasons == ("MA-7.04",)


@pytest.mark.parametrize("region", [None, "", "ZZ", "Atlantis", "US-"])
def test_an_address_whose_state_cannot_be_read_may_be_in_any_state(region: str | None) -> None:
    """Nothing says which state: every state's rules bind, and New York City's (the strict
    reading RF-7 gives time already). The territories count only once something names them."""
    party = person(addresses=(Address(country="US", region=region),), phones=())

    found = set(jurisdictions(party))

    assert {"US", "US-MA", "US-WA", "US-NY", "US-NY-NYC", "US-CA", "US-DC"} <= found
    assert not found & {"US-PR", "US-GU", "US-VI", "US-MP", "US-AS"}
    assert candidate_zones(party) == EVERY_STATE


def test_a_text_to_a_person_whose_state_cannot_be_read_needs_written_consent() -> None:
    """They may be in New York City, where texts need written consent (NYC-5-77)."""
    party = person(addresses=(Address(country="US", region="Atlantis"),))
    at = datetime(2026, 4, 14, 19, 0, tzinfo=UTC)  # 09:00 in Hawaii, 15:00 in New York
    spoken = (grant(Channel.SMS),)
    written = (grant(Channel.SMS, written=True),)

    refused = decide(at, channel=Channel.SMS, party=party, consents=spoken)
    allowed = decide(at, channel=Channel.SMS, party=party, consents=written)

    assert refused.reasons == ("NYC-5-77",)
    assert allowed.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize(
    ("city", "postal_code", "in_the_city"),
    [
        ("Jamaica", None, True),  # Queens names its neighbourhoods
        ("Astoria", "", True),
        ("Albany", None, True),  # no ZIP code to say it is outside
        ("Albany", "1220", True),  # not a ZIP code
        ("Jamaica", "\uff11\uff11\uff14\uff13\uff12", True),  # fullwidth: no list matches it
        ("Jamaica", "11432", True),
        ("Albany", "12207", False),
        ("Buffalo", "14201-1234", False),
    ],
)
def test_only_a_zip_code_places_a_new_york_address_outside_the_city(
    city: str, postal_code: str | None, in_the_city: bool
) -> None:
    """NYC-5-77: an NY address the city list does not name may still be in the city; only its
    ZIP code can say it is not."""
    address = Address(country="US", region="NY", city=city, postal_code=postal_code)

    found = jurisdictions(person(addresses=(address,), phones=()))

    assert ("US-NY-NYC" in found) is in_the_city


def test_a_policy_recorded_before_region_spellings_decides_as_it_did() -> None:
    """P5: zones data without the spellings, the unreadable-state rule and the NYC ZIP rule
    dumps without them, so its version still checks, and its decisions are re-proved as they
    were made: "Massachusetts" was no state, no state meant federal rules alone, and an NY
    address without a ZIP code was outside the city."""
    doc = policy_document(load_policy("default"))
    del doc["zones"]["us_region_names"], doc["zones"]["unreadable_us_region"]
    del doc["zones"]["nyc"]["outside_only_by_postal_code"], doc["zones"]["us_zip_prefixes"]
    del doc["zones"]["us_zip_prefixes_shared"]
    then = policy_from_document(rehashed(doc))
    spelled = person(addresses=(Address(country="US", region="Massachusetts"),), phones=())
    stateless = person(addresses=(Address(country="US"),), phones=())
    jamaica = Address(country="US", region="NY", city="Jamaica")

    assert then.version == doc["version"]
    assert "US-MA" not in then.places.jurisdictions(spelled)
    assert then.places.jurisdictions(stateless) == ("US",)
    assert "US-NY-NYC" not in then.places.jurisdictions(person(addresses=(jamaica,), phones=()))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MA": ["Mass."], "ME": ["Mass"]}, "'Mass' is read as both MA and ME"),
        ({"XX": ["Nowhere"]}, "XX is not in us_states"),
        ({"MA": ["..."]}, "'...' has no letters"),
    ],
)
def test_zones_data_refuses_a_spelling_that_names_no_one_state(
    change: dict[str, list[str]], message: str
) -> None:
    doc = policy_document(load_policy("default"))["zones"]
    doc["us_region_names"] = change

    with pytest.raises(ValidationError, match=re.escape(message)):
        ZonesData.model_validate(doc)


def test_a_zip_code_in_another_state_brings_that_state_too() -> None:
    """RF-7: an "NH" address with Salem, Massachusetts' ZIP code may be in either state, so
    MA's rules bind as New Hampshire's do."""
    salem = Address(country="US", region="NH", city="Salem", postal_code="01970")

    found = jurisdictions(person(addresses=(salem,), phones=()))

    assert {"US-NH", "US-MA"} <= set(found)


def test_a_zip_code_in_another_zone_narrows_the_window() -> None:
    """A New York address with a Los Angeles ZIP code: Pacific time counts too; the person's day
    is still planned in the state written (home_zone)."""
    address = Address(country="US", region="NY", city="Albany", postal_code="90012")
    party = person(addresses=(address,), phones=())

    assert candidate_zones(party) == ("America/Los_Angeles", "America/New_York")
    assert {"US-NY", "US-CA"} <= set(jurisdictions(party))
    assert PLACES.home_zone((address,), ()) == "America/New_York"


def test_a_manhattan_zip_code_brings_new_york_city() -> None:
    """NYC-5-77 binds a California address with a Manhattan ZIP code."""
    address = Address(country="US", region="CA", postal_code="10001-2345")

    assert {"US-CA", "US-NY", "US-NY-NYC"} <= set(jurisdictions(person(addresses=(address,))))


@pytest.mark.parametrize(
    "postal_code",
    [
        "01970",
        "01970-1234",
        " 01970 ",
        "01970 1234",
        "019701234",
        "01970\u20131234",  # en dash
        "\uff10\uff11\uff19\uff17\uff10",  # fullwidth
        "\u0660\u0661\u0669\u0667\u0660",  # Arabic-Indic
        "1970",  # the leading zero lost in a spreadsheet
        "19701234",
        "01970-123",  # ZIP+4 whose last part lost its zero
        "\u200f\u0660\u0661\u0669\u0667\u0660",  # a right-to-left mark before them
        "01970\u22121234",  # minus sign
    ],
)
def test_a_zip_code_is_read_however_it_is_written(postal_code: str) -> None:
    """Beside the state written, a ZIP code brings its state in any script or layout."""
    salem = Address(country="US", region="NH", city="Salem", postal_code=postal_code)

    assert "US-MA" in jurisdictions(person(addresses=(salem,), phones=()))


@pytest.mark.parametrize("postal_code", ["MA 01970", "019", "0197012345", "019-70-1"])
def test_what_is_no_zip_code_brings_no_state(postal_code: str) -> None:
    salem = Address(country="US", region="NH", city="Salem", postal_code=postal_code)

    assert jurisdictions(person(addresses=(salem,), phones=())) == ("US", "US-NH")


@pytest.mark.parametrize(
    ("region", "postal_code"),
    [(None, "02108"), ("Atlantis", "02108"), (None, "\uff10\uff12\uff11\uff10\uff18")],
)
def test_a_zip_code_stands_for_a_state_that_cannot_be_read(
    region: str | None, postal_code: str
) -> None:
    """The ZIP code says where the address is: that state's rules and zone, not every state's."""
    address = Address(country="US", region=region, city="Boston", postal_code=postal_code)
    party = person(addresses=(address,), phones=())

    assert jurisdictions(party) == ("US", "US-MA")
    assert candidate_zones(party) == ("America/New_York",)


@pytest.mark.parametrize(
    ("region", "postal_code"),
    [
        ("Atlantis", "00001"),  # a prefix USPS gives no one
        ("Atlantis", "09012"),  # military (AE)
        ("Atlantis", "021"),
        ("Atlantis", "02108-123"),  # two readings: 021 (MA) or 002 (none)
        ("Atlantis", "SW1A"),
        ("Atlantis", "2108"),  # a lost zero: a guess, good enough to add a state, not to be one
        ("MH", "96960"),  # Majuro: 969 is Guam's prefix too, two hours behind
        ("FM", "96941"),
        (None, "06390"),  # Fishers Island, NY, in Connecticut's prefix
    ],
)
def test_a_zip_code_that_cannot_stand_alone_leaves_the_address_anywhere(
    region: str | None, postal_code: str
) -> None:
    address = Address(country="US", region=region, postal_code=postal_code)
    party = person(addresses=(address,), phones=())

    assert {"US-MA", "US-WA", "US-NY-NYC"} <= set(jurisdictions(party))
    assert candidate_zones(party) == EVERY_STATE


def test_eight_digits_bring_the_states_of_both_readings() -> None:
    """ "10001-123" is Manhattan's ZIP+4 whose last part lost its zero, or a Massachusetts code
    whose first zero was lost: both count."""
    address = Address(country="US", region="CA", postal_code="10001-123")

    assert {"US-MA", "US-NY", "US-NY-NYC"} <= set(jurisdictions(person(addresses=(address,))))


def test_a_shared_prefix_still_adds_its_state_beside_the_one_written() -> None:
    address = Address(country="US", region="NY", city="Fishers Island", postal_code="06390")

    assert {"US-NY", "US-CT"} <= set(jurisdictions(person(addresses=(address,), phones=())))


def test_a_new_york_city_borough_is_kept_when_the_zip_code_stands_alone() -> None:
    """No readable state, a Hoboken ZIP code and "Brooklyn": New Jersey, and the city named."""
    address = Address(country="US", city="Brooklyn", postal_code="07030")

    assert jurisdictions(person(addresses=(address,), phones=())) == (
        "US",
        "US-NJ",
        "US-NY",
        "US-NY-NYC",
    )


def test_a_massachusetts_zip_code_is_held_to_the_massachusetts_cap() -> None:
    """MA-7.04 binds an address written "NH" with a Massachusetts ZIP code: the third contact in
    seven days to a personal number waits."""
    salem = Address(country="US", region="NH", city="Salem", postal_code="01970")
    mobile = "+15185550100"  # an Albany number: only the ZIP code says Massachusetts
    party = person(addresses=(salem,), phones=(Phone(number=mobile),))
    history = tuple(attempt(datetime(2026, 4, day, 10, 0, tzinfo=ET), to=mobile) for day in (1, 3))

    result = decide(datetime(2026, 4, 5, 10, 0, tzinfo=ET), party=party, attempts=history)

    assert result.reasons == ("MA-7.04",)


def test_a_policy_recorded_before_zip_prefixes_reads_the_state_alone() -> None:
    """P5: zones data without ZIP prefixes dumps without them, so its version still checks, and
    an "NH" address with a Massachusetts ZIP code is in New Hampshire alone, as it was decided."""
    doc = policy_document(load_policy("default"))
    del doc["zones"]["us_zip_prefixes"], doc["zones"]["us_zip_prefixes_shared"]
    then = policy_from_document(rehashed(doc))
    salem = Address(country="US", region="NH", city="Salem", postal_code="01970")

    assert then.version == doc["version"]
    assert then.places.jurisdictions(person(addresses=(salem,), phones=())) == ("US", "US-NH")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MA": ["010-027"], "RI": ["027-029"]}, "027 is given to both MA and RI"),
        ({"MA": ["027-010"]}, "MA 027-010 runs backwards"),
        ({"XX": ["001"]}, "us_zip_prefixes: XX not in us_states"),
        ({"MA": ["02"]}, "should match pattern"),
        ({"us_zip_prefixes_shared": ["340"]}, "us_zip_prefixes_shared: 340 given to no state"),
    ],
)
def test_zones_data_refuses_zip_prefixes_that_name_no_one_state(
    change: dict[str, list[str]], message: str
) -> None:
    doc = policy_document(load_policy("default"))["zones"]
    if "us_zip_prefixes_shared" in change:
        doc.update(change)
    else:
        doc["us_zip_prefixes"] = change

    with pytest.raises(ValidationError, match=re.escape(message)):
        ZonesData.model_validate(doc)
