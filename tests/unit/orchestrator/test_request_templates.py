"""A desk's contact request is rendered by its purpose, its channel and who is asked: a contact
person hears only a location inquiry (RF-13), a dispute or a cease gets its own answer (RF-11),
and a request with no text of its own is answered with a reason instead of another's text."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from contracts import CeaseRequested, DisputeOpened, RequestContact
from contracts.values import Channel, PartyRole, Purpose
from events.envelope import derive_id
from services.orchestrator.engine import Emitted
from services.strategy.core.lcm import location_inquiry_problems, revealing_terms
from services.strategy.core.playbook import (
    REFUSED_NO_TEMPLATE,
    REFUSED_THIRD_PARTY,
    REQUEST_TEMPLATES,
    SAMPLE,
    PlaybookError,
    Templates,
    check_playbook,
    load_playbook,
    load_templates,
)
from tests.unit.orchestrator.builders import (
    CARL_EMAIL,
    CARL_PHONE,
    EMAIL,
    MOBILE,
    NOON_NY,
    B,
    Feed,
    borrower,
    channels,
    contact_person,
    decisions,
    dpd,
    of_type,
)

BUSINESS = "Parley Services"  # the engine's default business name (decide.Context)


def _with_contact_person() -> Feed:
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY - timedelta(hours=1))
    feed.send(B, contact_person(email=True), NOON_NY - timedelta(hours=1))
    return feed


def _request(
    request_id: str, party: str, channel: Channel, to: str | None, purpose: Purpose
) -> RequestContact:
    return RequestContact(
        request_id=request_id,
        party_id=party,
        loan_id="L1",
        channel=channel,
        to=to,
        purpose=purpose,
        requested_by="desk",
    )


def _tasks(out: Emitted) -> list[dict[str, Any]]:
    return [json.loads(t.value)["payload"] for t in out.tasks]


def _said(task: dict[str, Any]) -> str:
    return " ".join(str(task.get(part) or "") for part in ("subject", "body", "voicemail"))


@pytest.mark.parametrize(
    ("channel", "to"), [(Channel.EMAIL, CARL_EMAIL), (Channel.CALL, CARL_PHONE)]
)
def test_a_location_inquiry_to_a_contact_person_names_neither_the_debt_nor_the_business(
    channel: Channel, to: str
) -> None:
    """RF-13: the caller's own name and a callback; never the debt; the business only if
    asked, which a message cannot be (the reviewer saw "your account is 20 days past due")."""
    feed = _with_contact_person()

    out = feed.send(B, _request("r1", "c1", channel, to, Purpose.LOCATION_INQUIRY), NOON_NY)

    [decided] = decisions(out)
    assert decided["verdict"] == "authorised"
    [task] = _tasks(out)
    said = _said(task)
    assert "confirming contact information" in said
    assert revealing_terms(said) == []
    assert BUSINESS not in said


@pytest.mark.parametrize(
    ("channel", "to"),
    [(Channel.EMAIL, CARL_EMAIL), (Channel.CALL, CARL_PHONE), (Channel.SMS, CARL_PHONE)],
)
@pytest.mark.parametrize("purpose", [Purpose.COLLECTION, Purpose.REMINDER])
def test_a_contact_person_asked_about_the_debt_is_answered_with_a_reason_not_sent(
    channel: Channel, to: str, purpose: Purpose
) -> None:
    """RF-12: a third party is only ever asked to help locate the borrower."""
    feed = _with_contact_person()

    out = feed.send(B, _request("r2", "c1", channel, to, purpose), NOON_NY)

    assert decisions(out) == []
    assert out.tasks == []
    assert of_type(out, "contact.intent_dropped") == [
        {
            "attempt_id": derive_id(B, "request", "r2"),
            "reason": REFUSED_THIRD_PARTY,
            "request_id": "r2",  # the desk's answer names its question
        }
    ]


@pytest.mark.parametrize(("channel", "to"), [(Channel.EMAIL, EMAIL), (Channel.SMS, MOBILE)])
def test_a_dispute_response_during_a_dispute_answers_the_dispute(channel: Channel, to: str) -> None:
    """Not the overdue demand the dispute stops; and it names who it is from (RF-19)."""
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY - timedelta(hours=1))
    feed.send(B, DisputeOpened(loan_id="L1"), NOON_NY)

    out = feed.send(
        B,
        _request("r3", B, channel, to, Purpose.DISPUTE_RESPONSE),
        NOON_NY + timedelta(minutes=10),
    )

    [decided] = decisions(out)
    assert decided["verdict"] == "authorised"
    [task] = _tasks(out)
    said = _said(task)
    assert "received your dispute" in said
    assert BUSINESS in task["body"]
    assert "past due" not in said
    assert "needs attention" not in said


def test_a_cease_acknowledgement_says_only_that_efforts_are_terminated() -> None:
    """RF-11 (i): after a cease, not "your account needs attention today"."""
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY - timedelta(hours=1))
    feed.send(B, CeaseRequested(party_id=B), NOON_NY)

    out = feed.send(
        B,
        _request("r4", B, Channel.SMS, MOBILE, Purpose.CEASE_ACKNOWLEDGEMENT),
        NOON_NY + timedelta(minutes=20),
    )

    [task] = _tasks(out)
    assert "efforts to collect this debt from you are being terminated" in task["body"]
    assert "needs attention" not in task["body"]
    assert "call" not in task["body"].lower()


@pytest.mark.parametrize(
    ("party", "channel", "to", "purpose"),
    [
        (B, Channel.CALL, MOBILE, Purpose.CEASE_ACKNOWLEDGEMENT),
        (B, Channel.EMAIL, EMAIL, Purpose.LOCATION_INQUIRY),
        (B, Channel.CALL, MOBILE, Purpose.VALIDATION_NOTICE),
        (B, Channel.EMAIL, EMAIL, Purpose.OPT_OUT_CONFIRMATION),
        ("c1", Channel.LETTER, None, Purpose.LOCATION_INQUIRY),
    ],
    ids=[
        "cease-by-call",
        "borrower-location-inquiry",
        "validation-notice-by-call",
        "opt-out-confirmation-email",
        "location-inquiry-letter",
    ],
)
def test_a_request_with_no_text_of_its_own_is_answered_with_a_reason(
    party: str, channel: Channel, to: str | None, purpose: Purpose
) -> None:
    """No suitable template: nothing decided, nothing sent, and a machine-readable answer."""
    feed = _with_contact_person()

    out = feed.send(B, _request("r5", party, channel, to, purpose), NOON_NY)

    assert decisions(out) == []
    assert out.tasks == []
    [dropped] = of_type(out, "contact.intent_dropped")
    assert dropped["reason"] == REFUSED_NO_TEMPLATE


def test_a_collection_request_to_the_borrower_renders_as_before() -> None:
    """The desk's ordinary question is unchanged: by text, the firm reminder."""
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY - timedelta(hours=1))

    out = feed.send(B, _request("r6", B, Channel.SMS, MOBILE, Purpose.COLLECTION), NOON_NY)

    assert channels(out) == [Channel.SMS]
    [task] = _tasks(out)
    assert task["body"].startswith(f"{BUSINESS}: your account needs attention today.")


def test_a_contact_person_is_only_ever_given_a_location_inquiry() -> None:
    """The table itself: every third-party entry is a location inquiry, and every template it
    names discloses nothing in any part, in both languages."""
    templates = load_templates()

    for (purpose, _), name in REQUEST_TEMPLATES.third_party.items():
        assert purpose is Purpose.LOCATION_INQUIRY
        for language in ("en", "zh-CN"):
            spec = templates.by_language[language][name]
            for part in ("subject", "body"):
                assert location_inquiry_problems(spec.get(part, "")) == [], (language, name, part)
    for purpose in Purpose:
        for channel in Channel:
            if purpose is not Purpose.LOCATION_INQUIRY:
                assert REQUEST_TEMPLATES.choose(PartyRole.CONTACT_PERSON, purpose, channel) is None


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_request_template_is_written_in_both_languages(language: str) -> None:
    """No request falls back to English, and every written one renders with a subject."""
    templates = load_templates()

    for channel, name, _ in REQUEST_TEMPLATES.uses():
        assert name in templates.by_language[language], (language, name)
        subject, body = templates.render(language, name, channel, dict(SAMPLE))
        assert body
        if channel in (Channel.EMAIL, Channel.LETTER):
            assert subject, (language, name, channel)


def test_a_location_inquiry_whose_subject_names_the_business_fails_at_load() -> None:
    """An email's subject is read by the third party too: checked like the body (RF-13)."""
    templates = load_templates()
    by_language = copy.deepcopy(templates.by_language)
    by_language["en"]["location_inquiry_message"]["subject"] = "{{ business }}: a question"
    edited = Templates(by_language, templates.version, templates.without_opt_out_notice)

    with pytest.raises(PlaybookError, match="location_inquiry_message: not a location inquiry"):
        check_playbook(load_playbook("bnpl")[0], edited)
