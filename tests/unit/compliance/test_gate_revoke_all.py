"""TC-5 "revoke-all", from 2027-01-31: a revocation given on one medium stops every robocall and
robotext to that number. A STOP to a text stops the calls, and "stop calling" the texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.decisions import RuleOutcome, Verdict
from contracts.values import Channel, Purpose
from services.compliance.core import ConsentRecord, load_policy
from services.compliance.core.consent import across_in_force
from services.compliance.core.registry import policy_document, policy_from_document
from services.compliance.core.schema import OptOutRule
from tests.unit.compliance.gate_builders import (
    EMAIL,
    ET,
    MOBILE,
    decide,
    grant,
    rehashed,
    revoke,
)

IN_FORCE = datetime(2027, 2, 2, 12, 0, tzinfo=ET)
WAIVED = datetime(2027, 1, 20, 12, 0, tzinfo=ET)
OTHER = "+15185550199"
GRANTS = (grant(Channel.CALL), grant(Channel.SMS), grant(Channel.EMAIL))


def _tc5(rules: tuple[RuleOutcome, ...]) -> list[str]:
    return [f"{o.effect}: {o.detail}" for o in rules if o.rule_id == "TC-5"]


@pytest.mark.parametrize(
    ("revoked", "contact"),
    [(Channel.SMS, Channel.CALL), (Channel.CALL, Channel.SMS)],
    ids=["stop-to-a-text-stops-calls", "stop-calling-stops-texts"],
)
def test_a_revocation_on_one_medium_stops_the_other(revoked: Channel, contact: Channel) -> None:
    stop = revoke(revoked, MOBILE, at=IN_FORCE - timedelta(hours=1))

    result = decide(IN_FORCE, channel=contact, consents=(*GRANTS, stop))

    assert result.verdict == Verdict.SUPPRESSED
    assert result.reasons == ("TC-5",)
    assert _tc5(result.rules) == [f"suppress: opted out by {revoked.value}"]


def test_before_the_date_a_stop_to_a_text_leaves_calls_and_says_so() -> None:
    """Waived until 2027-01-31 (DA 26-12): the call goes, and the decision names the opt-out
    and the date it will bind from."""
    stop = revoke(Channel.SMS, MOBILE, at=WAIVED - timedelta(hours=1))

    result = decide(WAIVED, consents=(*GRANTS, stop))

    assert result.verdict == Verdict.AUTHORISED
    assert _tc5(result.rules) == ["pass: opted out by sms; binds from 2027-01-31"]


def test_a_stop_given_before_the_date_binds_the_calls_from_it() -> None:
    """The revocation still stands on the date; from then on its scope is every robocall."""
    stop = revoke(Channel.SMS, MOBILE, at=WAIVED)

    assert decide(IN_FORCE, consents=(*GRANTS, stop)).reasons == ("TC-5",)


@pytest.mark.parametrize(
    ("stop", "verdict"),
    [
        (revoke(Channel.SMS, None, at=IN_FORCE - timedelta(days=1)), Verdict.SUPPRESSED),
        (revoke(Channel.SMS, OTHER, at=IN_FORCE - timedelta(days=1)), Verdict.AUTHORISED),
        (revoke(Channel.EMAIL, EMAIL, at=IN_FORCE - timedelta(days=1)), Verdict.AUTHORISED),
    ],
    ids=["no-texts-at-all", "another-number", "an-email-opt-out"],
)
def test_what_a_revocation_reaches(stop: ConsentRecord, verdict: Verdict) -> None:
    """A medium-wide "don't text me" reaches every number; a STOP from another number reaches
    only that one; an email opt-out is no robocall's or robotext's."""
    result = decide(IN_FORCE, consents=(*GRANTS, stop))

    assert result.verdict == verdict


def test_only_a_later_grant_on_the_contacts_own_medium_lifts_it() -> None:
    """The person texts START again: texts may go, but the calls the STOP ended come back only
    when they consent to calls again."""
    stop = revoke(Channel.SMS, MOBILE, at=IN_FORCE - timedelta(days=2))
    texts = grant(Channel.SMS, MOBILE, at=IN_FORCE - timedelta(days=1))
    calls = grant(Channel.CALL, MOBILE, at=IN_FORCE - timedelta(days=1))

    assert decide(IN_FORCE, consents=(*GRANTS, stop, texts)).reasons == ("TC-5",)
    assert decide(IN_FORCE, channel=Channel.SMS, consents=(*GRANTS, stop, texts)).reasons == ()
    assert decide(IN_FORCE, consents=(*GRANTS, stop, calls)).reasons == ()


@pytest.mark.parametrize("contact", [Channel.CALL, Channel.SMS])
def test_a_revocation_for_one_kind_of_message_stops_every_kind(contact: Channel) -> None:
    """ "On unrelated matters too": no more reminder texts ends collection calls and texts."""
    reminders = ConsentRecord(
        Channel.SMS, MOBILE, Purpose.REMINDER, False, IN_FORCE, IN_FORCE, IN_FORCE
    )

    result = decide(IN_FORCE + timedelta(hours=1), channel=contact, consents=(*GRANTS, reminders))

    assert result.reasons == ("TC-5",)


def test_the_confirmation_text_of_a_stop_still_goes_after_stop_calling() -> None:
    """TC-4: someone who said "stop calling" and then texts STOP gets the one confirmation."""
    calls = revoke(Channel.CALL, MOBILE, at=IN_FORCE - timedelta(days=1))
    texts = revoke(Channel.SMS, MOBILE, at=IN_FORCE)
    at = IN_FORCE + timedelta(minutes=1)

    confirmation = decide(
        at,
        channel=Channel.SMS,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        consents=(*GRANTS, calls, texts),
    )

    assert confirmation.verdict == Verdict.AUTHORISED
    assert _tc5(confirmation.rules) == ["pass: opted out by sms; TC-4 confirmation allowed"]


@pytest.mark.parametrize(
    ("at", "zones", "binds"),
    [
        # 00:30 in Washington is 19:30 the day before in Honolulu: the date has begun there.
        (datetime(2027, 1, 31, 5, 30, tzinfo=UTC), ("Pacific/Honolulu",), True),
        (datetime(2027, 1, 31, 4, 30, tzinfo=UTC), ("Pacific/Honolulu",), False),
        # 01:00 in Guam, 10:00 the day before in Washington: the date has begun where they are.
        (datetime(2027, 1, 30, 15, 0, tzinfo=UTC), ("Pacific/Guam",), True),
        (datetime(2027, 1, 31, 4, 59, tzinfo=UTC), (), False),
        (datetime(2027, 1, 31, 5, 0, tzinfo=UTC), (), True),
    ],
)
def test_the_date_binds_once_it_has_begun_in_washington_or_where_the_person_may_be(
    at: datetime, zones: tuple[str, ...], binds: bool
) -> None:
    rule = next(r for p in load_policy("default").packs for r in p.opt_outs if r.id == "TC-5")

    assert across_in_force(rule, zones, at) is binds


def test_a_policy_recorded_before_tc5_decides_as_it_did() -> None:
    """P5: without the rule, a call after a STOP to a text was authorised; that policy's
    decisions are re-proved as they were made."""
    doc = policy_document(load_policy("default"))
    for pack in doc["packs"]:
        pack["opt_outs"] = [r for r in pack.get("opt_outs", []) if r["id"] != "TC-5"]
    then = policy_from_document(rehashed(doc))
    stop = revoke(Channel.SMS, MOBILE, at=IN_FORCE - timedelta(hours=1))

    assert decide(IN_FORCE, consents=(*GRANTS, stop), policy=then).verdict == Verdict.AUTHORISED
    assert "across" not in str(policy_document(then))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"across": ["sms"]}, "name two or more of the rule's own channels"),
        ({"across": ["sms", "email"]}, "name two or more of the rule's own channels"),
        ({"in_force_from": "2027-01-31"}, "only a rule with across starts on a date"),
        ({"calendar_zone": "America/New_York"}, "only for a rule with in_force_from"),
        (
            {
                "across": ["call", "sms"],
                "in_force_from": "2027-01-31",
                "calendar_zone": "Mars/Base",
            },
            "no time zone 'Mars/Base'",
        ),
        ({"across": ["call", "sms"], "scope": "address"}, "only with scope any"),
    ],
)
def test_a_rule_across_media_names_its_own(fields: dict[str, object], message: str) -> None:
    rule = {"id": "TC-5", "channels": ["call", "sms"], "scope": "any"} | fields

    with pytest.raises(ValidationError, match=message):
        OptOutRule.model_validate(rule)
