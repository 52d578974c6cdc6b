"""The consent ledger: TC-1 consent, TC-2/RF-16/RF-17 opt-outs, TC-4 confirmation, NYC written."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contracts.decisions import Verdict
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Phone, PhoneType, Purpose
from services.compliance.core import ConsentRecord, is_opt_out, load_policy, opt_out_keywords
from services.compliance.core.keywords import names_an_opt_out
from tests.unit.compliance.gate_builders import (
    EMAIL,
    ET,
    MOBILE,
    NYC,
    POLICY,
    attempt,
    decide,
    grant,
    person,
    revoke,
)

AT = datetime(2026, 4, 14, 12, 0, tzinfo=ET)


def test_stop_revocation_suppresses_the_next_text() -> None:
    """TC-2/RF-16: a STOP reply for this number revokes consent; the next text is suppressed."""
    stop = revoke(Channel.SMS, MOBILE, at=AT - timedelta(hours=1))

    result = decide(AT, channel=Channel.SMS, consents=(grant(Channel.SMS), stop))

    assert result.verdict == Verdict.SUPPRESSED
    assert {"TC-2", "RF-16", "P6-OPT-OUT"} <= set(result.reasons)
    assert "revoked (address" in result.evidence.consent


def test_medium_opt_out_beats_an_older_address_grant() -> None:
    """RF-17: "don't text me" (no address) beats an earlier consent for one number."""
    consents = (grant(Channel.SMS, MOBILE), revoke(Channel.SMS, None, at=AT - timedelta(days=1)))

    result = decide(AT, channel=Channel.SMS, consents=consents)

    assert "RF-17" in result.reasons


def test_later_grant_supersedes_an_earlier_opt_out() -> None:
    """The record the person gave last wins: consent given after an opt-out restores texting."""
    consents = (
        revoke(Channel.SMS, None, at=AT - timedelta(days=9)),
        grant(Channel.SMS, MOBILE, at=AT - timedelta(days=1)),
    )

    result = decide(AT, channel=Channel.SMS, consents=consents)

    assert result.verdict == Verdict.AUTHORISED


def test_blanket_grant_does_not_undo_an_address_opt_out() -> None:
    """The most specific record wins: a later medium-wide grant leaves a number's STOP in force."""
    consents = (
        revoke(Channel.SMS, MOBILE, at=AT - timedelta(days=9)),
        grant(Channel.SMS, None, at=AT - timedelta(days=1)),
    )

    result = decide(AT, channel=Channel.SMS, consents=consents)

    assert result.verdict == Verdict.SUPPRESSED


def test_medium_wide_grant_for_one_purpose_does_not_undo_an_address_opt_out() -> None:
    """A grant undoes a revocation only if it is as narrow in each scope: "texts about this debt"
    to any number is narrower in purpose but wider in address than a STOP from one number."""
    consents = (
        grant(Channel.SMS),
        revoke(Channel.SMS, MOBILE, at=AT - timedelta(days=2)),
        grant(Channel.SMS, None, at=AT - timedelta(days=1), purpose=Purpose.COLLECTION),
    )

    result = decide(AT, channel=Channel.SMS, consents=consents)

    assert result.verdict == Verdict.SUPPRESSED
    assert "RF-16" in result.reasons


def test_address_grant_for_one_purpose_undoes_an_address_opt_out_for_that_purpose() -> None:
    consents = (
        revoke(Channel.SMS, MOBILE, at=AT - timedelta(days=2)),
        grant(Channel.SMS, MOBILE, at=AT - timedelta(days=1), purpose=Purpose.COLLECTION),
    )

    assert decide(AT, channel=Channel.SMS, consents=consents).verdict == Verdict.AUTHORISED
    reminder = decide(AT, channel=Channel.SMS, consents=consents, purpose=Purpose.REMINDER)
    assert reminder.verdict == Verdict.SUPPRESSED


def test_a_grant_given_before_an_opt_out_does_not_outlive_it_by_taking_effect_later() -> None:
    """Later means given later: a grant received before a STOP, dated to take effect after it,
    does not restore texting when that date comes."""
    given = AT - timedelta(days=10)
    future_grant = ConsentRecord(
        Channel.SMS, MOBILE, None, True, given, AT - timedelta(days=1), given
    )
    consents = (future_grant, revoke(Channel.SMS, MOBILE, at=AT - timedelta(days=5)))

    result = decide(AT, channel=Channel.SMS, consents=consents)

    assert result.verdict == Verdict.SUPPRESSED


@pytest.mark.parametrize("ahead", [timedelta(minutes=3), timedelta(days=30)])
def test_a_grant_processed_before_an_opt_out_never_outranks_it(ahead: timedelta) -> None:
    """Nothing is received after it was processed: a grant stamped as received ``ahead`` of
    when Parley processed it (another system's clock running fast) is read as received when
    processed, so a STOP received and processed after it stands (session 14)."""
    processed = AT - timedelta(minutes=2)
    stamped_ahead = ConsentRecord(
        Channel.SMS, MOBILE, None, True, processed + ahead, processed, processed
    )
    stop = revoke(Channel.SMS, MOBILE, at=AT - timedelta(minutes=1))

    result = decide(AT, channel=Channel.SMS, consents=(stamped_ahead, stop))

    assert result.verdict == Verdict.SUPPRESSED


def test_a_grant_applies_from_its_effective_time() -> None:
    """Bitemporal: consent that takes effect later does not allow contact yet (TC-1)."""
    given = AT - timedelta(hours=1)
    later = ConsentRecord(Channel.SMS, MOBILE, None, True, given, AT + timedelta(hours=1), given)

    assert decide(AT, channel=Channel.SMS, consents=(later,)).reasons == ("TC-1",)
    after = decide(AT + timedelta(hours=2), channel=Channel.SMS, consents=(later,))
    assert after.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize("effective_in", [timedelta(hours=1), timedelta(days=30)])
def test_a_revocation_binds_once_processed_even_if_dated_later(effective_in: timedelta) -> None:
    """P6: once Parley has processed a revocation no contact it covers is authorised, whatever
    later effective time it names (TC-3 allows at most ten business days; P6 allows none)."""
    stop = revoke(Channel.SMS, MOBILE, at=AT - timedelta(hours=1), effective=AT + effective_in)

    result = decide(AT, channel=Channel.SMS, consents=(grant(Channel.SMS), stop))

    assert result.verdict == Verdict.SUPPRESSED
    assert result.evidence.consent == (
        f"sms: revoked (address, effective {(AT - timedelta(hours=1)).isoformat()})"
    )


def test_a_backdated_revocation_binds_from_its_effective_time() -> None:
    received = AT - timedelta(hours=1)
    stop = ConsentRecord(
        Channel.SMS, MOBILE, None, False, received, AT - timedelta(days=2), received
    )

    result = decide(AT, channel=Channel.SMS, consents=(grant(Channel.SMS), stop))

    assert result.verdict == Verdict.SUPPRESSED


def test_an_email_opt_out_matches_the_address_whatever_its_case() -> None:
    """RF-16 for email: "Pat@Example.com" opting out is pat@example.com opting out."""
    consents = (revoke(Channel.EMAIL, "Pat@Example.COM", at=AT - timedelta(days=1)),)

    result = decide(AT, channel=Channel.EMAIL, to=EMAIL, consents=consents)

    assert result.verdict == Verdict.SUPPRESSED


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.CALL])
def test_text_or_call_to_a_mobile_needs_prior_express_consent(channel: Channel) -> None:
    """TC-1: autodialed/prerecorded calls and texts to a mobile need prior express consent."""
    result = decide(AT, channel=channel, consents=())

    assert result.reasons == ("TC-1",)


def test_call_to_a_landline_needs_no_tcpa_consent() -> None:
    """TC-1 covers wireless numbers only."""
    home = "+15185550111"
    party = person(phones=(Phone(number=home, type=PhoneType.HOME),))

    result = decide(AT, to=home, party=party, consents=())

    assert result.verdict == Verdict.AUTHORISED


def test_purpose_scoped_consent_applies_only_to_that_purpose() -> None:
    """A grant scoped to reminders does not allow collection texts."""
    consents = (grant(Channel.SMS, purpose=Purpose.REMINDER),)

    reminder = decide(AT, channel=Channel.SMS, purpose=Purpose.REMINDER, consents=consents)
    collection = decide(AT, channel=Channel.SMS, consents=consents)

    assert reminder.verdict == Verdict.AUTHORISED
    assert collection.reasons == ("TC-1",)


def test_email_needs_no_consent_outside_nyc() -> None:
    """Email is allowed without a consent record (RF-14 safe harbor satisfied upstream)."""
    result = decide(AT, channel=Channel.EMAIL, to=EMAIL, consents=())

    assert result.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS])
def test_nyc_requires_written_consent_for_email_and_text(channel: Channel) -> None:
    """NYC-5-77: written consent before using email or text."""
    nyc_mobile = "+12125550100"
    party = person(addresses=(NYC,), phones=(Phone(number=nyc_mobile),))
    to = EMAIL if channel == Channel.EMAIL else nyc_mobile

    oral = decide(AT, channel=channel, to=to, party=party, consents=(grant(channel),))
    written = decide(
        AT, channel=channel, to=to, party=party, consents=(grant(channel, written=True),)
    )

    assert oral.reasons == ("NYC-5-77",)
    assert written.verdict == Verdict.AUTHORISED


def test_one_opt_out_confirmation_is_allowed_within_five_minutes() -> None:
    """TC-4: one confirmation text to the revoked number, within 5 minutes of the opt-out."""
    stop = revoke(Channel.SMS, MOBILE, at=AT)
    consents = (grant(Channel.SMS), stop)
    sent = attempt(
        AT + timedelta(minutes=1),
        Channel.SMS,
        OutcomeKind.DELIVERED,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
    )

    first = decide(
        AT + timedelta(minutes=1),
        channel=Channel.SMS,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        consents=consents,
    )
    second = decide(
        AT + timedelta(minutes=2),
        channel=Channel.SMS,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        consents=consents,
        attempts=(sent,),
    )
    late = decide(
        AT + timedelta(minutes=6),
        channel=Channel.SMS,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        consents=consents,
    )
    collection = decide(AT + timedelta(minutes=1), channel=Channel.SMS, consents=consents)

    assert first.verdict == Verdict.AUTHORISED
    assert second.verdict == Verdict.SUPPRESSED
    assert late.verdict == Verdict.SUPPRESSED
    assert collection.verdict == Verdict.SUPPRESSED


@pytest.mark.parametrize(
    ("channel", "to", "verdict"),
    [
        (Channel.SMS, MOBILE, Verdict.AUTHORISED),
        # TC-4 allows one confirmation *text*: no call, no email after the opt-out.
        (Channel.CALL, MOBILE, Verdict.SUPPRESSED),
        (Channel.EMAIL, EMAIL, Verdict.SUPPRESSED),
    ],
)
def test_the_opt_out_confirmation_is_a_text_only(
    channel: Channel, to: str, verdict: Verdict
) -> None:
    """TC-4: the one confirmation allowed after an opt-out is a text; a confirmation call or
    email to a medium the person just revoked is an ordinary contact after an opt-out."""
    consents = (grant(channel), revoke(channel, to, at=AT))

    result = decide(
        AT + timedelta(minutes=2),
        channel=channel,
        to=to,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        consents=consents,
    )

    assert result.verdict == verdict
    assert ("P6-OPT-OUT" in result.reasons) == (verdict == Verdict.SUPPRESSED)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", True),
        ("stop", True),
        ("  Stop!  ", True),
        ("STOP please", True),
        ("opt out", True),
        ("Unsubscribe.", True),
        ("退订", True),
        ("退订\uff01", True),  # full-width exclamation mark
        ("please stop", True),  # STOP is also a phrase, honoured anywhere (session 11)
        ("stopping by later", False),
        ("", False),
        ("Can you call me tomorrow?", False),
    ],
)
def test_opt_out_keywords_match_whole_message_or_first_word(body: str, expected: bool) -> None:
    """TC-2 keywords (and 退订) match case-insensitively as the whole message or its first
    word(s); the packs' phrases anywhere (test_opt_out_words)."""
    assert is_opt_out(POLICY, body) is expected


def test_opt_out_keywords_come_from_the_packs() -> None:
    """The keyword list is pack data: TC-2's words plus STOPALL and China's 退订 (also in
    traditional characters, 退訂)."""
    assert opt_out_keywords(POLICY) == frozenset(
        {"STOP", "QUIT", "END", "REVOKE", "OPT OUT", "CANCEL", "UNSUBSCRIBE", "STOPALL"}
        | {"退订", "退訂"}
    )


@pytest.mark.parametrize(
    ("body", "tells"),
    [
        ("Acme: your account needs attention. Reply STOP to opt out.", True),
        ("To stop emails to this address, reply UNSUBSCRIBE.", True),
        ("您的账户需要处理。回复退订拒收", True),
        ("Pay now.", False),
        ("Please attend to your account; spend a minute with us.", False),  # END, but in words
        ("Reply stop to opt out.", True),  # a reply the gate honours, whatever its case
        ("Text QUIT to 12345 to stop these texts.", True),
        ('Reply with "STOP" at any time.', True),
        ("如不想再收到此邮箱的邮件，请回复退订。", True),  # noqa: RUF001
        ("Reply HELP for help, STOP to cancel.", True),
        ("Text back STOP to end these messages.", True),
        ("You can reply to this message with STOP.", True),
        ("Reply with the word STOP at any time.", True),
        # The words used as words tell nobody how to opt out:
        ("Your payment plan will end on Friday unless you pay today.", False),
        ("Do not stop paying: we may cancel your plan.", False),
        ("Reply to this email to agree a plan, or we will END it.", False),
    ],
)
def test_an_outgoing_message_names_an_opt_out_word(body: str, tells: bool) -> None:
    """RF-16, as the audit checks every text and email: the way to opt out is named."""
    assert names_an_opt_out(POLICY, body) is tells


@pytest.mark.parametrize("pack", ["uk", "cn"])
def test_stop_is_honoured_and_nameable_under_every_policy(pack: str) -> None:
    """The baseline honours STOP and UNSUBSCRIBE whatever the jurisdiction: under a UK-only
    policy a STOP reply is an opt-out, and an English text's "Reply STOP" names a word it
    honours (a China-only policy also takes 退订)."""
    policy = load_policy(pack)

    assert is_opt_out(policy, "stop")
    assert names_an_opt_out(policy, "Acme: please call us. Reply STOP to opt out.")


@pytest.mark.parametrize(
    "listed",
    [(PhoneType.MOBILE, PhoneType.HOME), (PhoneType.HOME, PhoneType.MOBILE)],
)
def test_a_number_listed_as_mobile_and_as_home_needs_consent_whatever_the_order(
    listed: tuple[PhoneType, PhoneType],
) -> None:
    """TC-1 fails closed: a number also listed as a mobile may be one. The last listing used
    to decide, and a mobile listed last as home was called without consent."""
    party = person(phones=tuple(Phone(number=MOBILE, type=kind) for kind in listed))

    result = decide(AT, party=party, consents=())

    assert result.reasons == ("TC-1",)
