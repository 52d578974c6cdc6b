"""A profile whose declared zone cannot be loaded is dead-lettered at the door (P3), so it never
reaches state where it would break every later decision, a STOP among them (P6)."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts import BorrowerProfiled, ConsentRevoked, ContactOutcomeRecorded
from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, PartyRole, Phone, PhoneType
from services.compliance.core.policy import load_policy
from services.orchestrator.core.decide import local_zone
from services.orchestrator.core.state import Party
from tests.unit.orchestrator.builders import (
    MOBILE,
    NIGHT_NY,
    NOON_NY,
    OUTCOMES,
    B,
    Feed,
    borrower,
    channels,
    decisions,
    dpd,
    ny_profile,
)


def _profile_with_zone(zone: str) -> BorrowerProfiled:
    # As an upstream producer would send it: built without validation, which would refuse it.
    return BorrowerProfiled.model_construct(**ny_profile(B), declared_time_zone=zone)


def _stop() -> ConsentRevoked:
    return ConsentRevoked(party_id=B, channel=Channel.SMS, address=MOBILE, received_at=NOON_NY)


def test_a_profile_with_an_unloadable_zone_is_dead_lettered_with_a_reason() -> None:
    """P3: the bad profile goes to the dead-letter topic, named by field, and nothing else does."""
    feed = borrower()

    bad = feed.send(B, _profile_with_zone("America/NewYork"), NOON_NY - timedelta(hours=1))
    revoked = feed.send(B, _stop(), NOON_NY)

    assert bad.ledger == []
    [dead] = [json.loads(d.value) for d in bad.deadletters]
    assert dead["reason"] == "schema_violation"
    assert "declared_time_zone" in dead["detail"]
    assert revoked.deadletters == []
    [entry] = [json.loads(o.value) for o in revoked.ledger]
    assert entry["event"]["type"] == "consent.revoked"  # applied, not lost


def test_after_a_refused_profile_a_revocation_still_stops_every_later_text() -> None:
    """P6: the revocation is applied, so neither a follow-up nor a fired timer texts again."""
    feed = borrower()
    feed.send(B, _profile_with_zone("America/NewYork"), NOON_NY - timedelta(hours=1))
    feed.send(B, _stop(), NOON_NY)

    call = feed.send(B, dpd(2, NOON_NY.date()), NOON_NY + timedelta(hours=1))
    [attempt] = [json.loads(t.value)["payload"]["attempt_id"] for t in call.tasks]
    unanswered = feed.send(
        B,
        ContactOutcomeRecorded(
            attempt_id=attempt, channel=Channel.CALL, outcome=OutcomeKind.BUSY, reported_at=NOON_NY
        ),
        NOON_NY + timedelta(hours=1, minutes=1),
        topic=OUTCOMES,
    )
    later = feed.tick(NOON_NY + timedelta(days=3))

    assert channels(call) == [Channel.CALL]
    assert channels(unanswered) == []  # the follow-up text is suppressed
    assert decisions(unanswered)[0]["verdict"] == "suppressed"
    assert Channel.SMS not in channels(later)
    assert len(feed.dead) == 1  # only the profile


def _restored_with_zone(zone: str) -> Feed:
    """A borrower restored from a ledger written before incoming zones were checked: the same
    entries a profiled New York borrower gets, but with ``zone`` declared in the profile."""
    written = borrower()
    entries = []
    for out in written.ledger:
        entry = json.loads(out.value)
        if entry["event"]["type"] == "borrower.profiled":
            entry["event"]["payload"]["declared_time_zone"] = zone
        entries.append((out.partition, json.dumps(entry).encode()))
    restored = Feed(offsets=written.offsets)
    for partition, value in entries:
        restored.engine.restore(partition, value)
    return restored


def test_a_restored_profile_with_an_unloadable_zone_still_gets_decisions() -> None:
    """P5/P6: a ledger may hold a zone written before the check at the door. It restores, and it
    is ignored where zones are looked up (the gate and the strategy alike): the person is placed
    by address and phones, so a call is still decided, in New York hours, and nothing is
    dead-lettered as a processing error."""
    feed = _restored_with_zone("America/NewYork")

    night = feed.send(B, dpd(2, NIGHT_NY.date()), NIGHT_NY)  # 02:00 in New York
    noon = feed.tick(NOON_NY)

    assert feed.dead == []
    assert [d["verdict"] for d in decisions(night)] == ["deferred"]
    assert decisions(night)[0]["evidence"]["candidate_zones"] == ["America/New_York"]
    assert channels(noon) == [Channel.CALL]


@pytest.mark.parametrize(
    ("addresses", "numbers", "zone"),
    [
        # Arizona lists Phoenix first: the Navajo Nation's daylight time is for the gate only.
        ((Address(country="US", region="AZ", city="Phoenix"),), (), "America/Phoenix"),
        # A US address with no state plans in Eastern time, not in Adak's (alphabetically first).
        ((Address(country="US"),), (), "America/New_York"),
        # The address comes before a phone from elsewhere.
        ((Address(country="US", region="NY"),), ("+14155550100",), "America/New_York"),
        ((), ("+14155550100",), "America/Los_Angeles"),
        ((), (), "UTC"),
    ],
)
def test_the_strategy_plans_a_persons_day_in_the_first_listed_zone_of_their_address(
    addresses: tuple[Address, ...], numbers: tuple[str, ...], zone: str
) -> None:
    phones = tuple(Phone(number=n, type=PhoneType.MOBILE) for n in numbers)
    party = Party(party_id=B, role=PartyRole.BORROWER, addresses=addresses, phones=phones)

    assert local_zone(party, load_policy("default")) == ZoneInfo(zone)
