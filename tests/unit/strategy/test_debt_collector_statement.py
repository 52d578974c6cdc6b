"""RF-19 (12 CFR 1006.18(e)): every communication of a third-party collector says it is from a
debt collector; the initial one also that it is an attempt to collect a debt and that any
information obtained will be used for that purpose. A limited-content voicemail (RF-18), a
location inquiry (RF-13) and the opt-out confirmation text (TC-4) are not such communications.
Checked at load, in every tone and every template language (a template is chosen by the person's
language, not where they live: a US borrower may read Chinese), so one that drops the statement
never starts."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from contracts import BorrowerProfiled
from contracts.values import Channel, Purpose
from services.strategy.core.playbook import (
    DEBT_COLLECTOR_STATEMENTS,
    REQUEST_TEMPLATES,
    SAMPLE,
    PlaybookError,
    Templates,
    check_playbook,
    load_playbook,
    load_templates,
    needs_debt_collector_statement,
)
from tests.unit.orchestrator.builders import NOON_NY, B, borrower, dpd, ny_profile

PLAYBOOKS = ("default", "bnpl")
LANGUAGES = ("en", "zh-CN")
EVERY = DEBT_COLLECTOR_STATEMENTS["en"].every
INITIAL = DEBT_COLLECTOR_STATEMENTS["en"].initial
SENTENCE = (
    "This is a communication from a debt collector. This is an attempt to collect a debt, "
    "and any information obtained will be used for that purpose."
)
ZH_EVERY = DEBT_COLLECTOR_STATEMENTS["zh-CN"].every
ZH_INITIAL = DEBT_COLLECTOR_STATEMENTS["zh-CN"].initial
ZH_SENTENCE = "本信息来自债务催收方，旨在催收债务，所获信息将用于此目的。"  # noqa: RUF001


def _uses() -> list[tuple[Channel, str, Purpose]]:
    """Every (channel, template, purpose) the shipped playbooks and a desk's request render."""
    found = REQUEST_TEMPLATES.uses()
    for name in PLAYBOOKS:
        found += [(a.channel, a.template, p) for a, p in load_playbook(name)[0].actions()]
    return found


def _communications() -> list[tuple[str, bool]]:
    """(template, may be the initial communication) of every communication (named as in
    English, the fallback language every template exists in)."""
    initial: dict[str, bool] = {}
    for channel, template, purpose in _uses():
        if needs_debt_collector_statement(channel, purpose):
            may = purpose in (Purpose.REMINDER, Purpose.COLLECTION)
            initial[template] = initial.get(template, False) or may
    english = load_templates().by_language["en"]
    return sorted(
        (name, initial[name.partition(".")[0]])
        for name in english
        if name.partition(".")[0] in initial
    )


COMMUNICATIONS = _communications()


def _edited(language: str, name: str, part: str, text: str) -> Templates:
    templates = load_templates()
    by_language = copy.deepcopy(templates.by_language)
    by_language[language][name][part] = text
    return Templates(by_language, templates.version, templates.without_opt_out_notice)


def _default_playbook_check(templates: Templates) -> None:
    check_playbook(load_playbook("default")[0], templates)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "initial"), COMMUNICATIONS, ids=[n for n, _ in COMMUNICATIONS])
def test_every_communication_says_it_is_from_a_debt_collector_in_every_language(
    language: str, name: str, initial: bool
) -> None:
    """Texts included (a reviewer found none did in English, then none in Chinese), and every
    tone variant. Written in the language itself, not left to the English fallback."""
    templates = load_templates()
    statement = DEBT_COLLECTOR_STATEMENTS[language]
    assert name in templates.by_language[language]
    channel = (
        Channel.SMS if "subject" not in templates.by_language[language][name] else Channel.EMAIL
    )

    _, body = templates.render(language, name, channel, dict(SAMPLE))

    assert statement.every in body
    if initial:
        assert statement.initial in body


def test_every_template_language_has_a_statement_to_check() -> None:
    assert set(DEBT_COLLECTOR_STATEMENTS) == set(load_templates().by_language) == set(LANGUAGES)


def test_a_us_borrower_who_prefers_chinese_is_told_it_is_from_a_debt_collector() -> None:
    """The reviewer's case: Albany, New York, zh-CN, 15 days past due. Every text and email the
    day's decision sends says, in Chinese, that it is from a debt collector (the voicemail, an
    attempt rather than a communication, does not)."""
    feed = borrower(collector=True)
    profile = BorrowerProfiled(**{**ny_profile(B), "language": "zh-CN"})
    feed.send(B, profile, NOON_NY - timedelta(hours=1))

    out = feed.send(B, dpd(15, NOON_NY.date()), NOON_NY)

    tasks = [json.loads(t.value) for t in out.tasks]
    written = [t["payload"] for t in tasks if t["type"] in ("task.sms", "task.email")]
    assert written
    for task in written:
        assert task["language"] == "zh-CN"
        assert ZH_EVERY in task["body"], task["body"]
    assert any(ZH_SENTENCE in task["body"] for task in written if task["purpose"] == "collection")


def test_the_communications_checked_include_the_texts_and_the_answers() -> None:
    """Guards the table above: a wrong reading of the playbooks would check nothing."""
    checked = dict(COMMUNICATIONS)

    for possibly_first in (
        "firm_sms",
        "firm_sms.supportive",
        "early_missed_call",
        "pre_due_reminder",
        "broken_plan",
        "plan_instalment_reminder",
    ):
        assert checked[possibly_first], possibly_first
    for answer in ("dispute_response", "cease_acknowledgement", "payment_confirmation"):
        assert answer in checked
    for exempt in ("early_call", "location_inquiry_call", "location_inquiry_message"):
        assert exempt not in checked
    assert "opt_out_confirmation" not in checked


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS])
def test_the_dispute_response_names_the_business_it_is_from(
    language: str, channel: Channel
) -> None:
    subject, body = load_templates().render(
        language, "dispute_response", channel, {**SAMPLE, "business": "Northwind"}
    )

    assert "Northwind" in body
    if channel is Channel.EMAIL:
        assert "Northwind" in subject


@pytest.mark.parametrize(
    ("channel", "purpose", "needed"),
    [
        (Channel.SMS, Purpose.COLLECTION, True),
        (Channel.EMAIL, Purpose.REMINDER, True),
        (Channel.LETTER, Purpose.DISPUTE_RESPONSE, True),
        (Channel.SMS, Purpose.CEASE_ACKNOWLEDGEMENT, True),
        (Channel.SMS, Purpose.PAYMENT_CONFIRMATION, True),
        (Channel.CALL, Purpose.COLLECTION, False),  # RF-18: the voicemail is an LCM
        (Channel.EMAIL, Purpose.LOCATION_INQUIRY, False),  # RF-13: never say there is a debt
        (Channel.SMS, Purpose.OPT_OUT_CONFIRMATION, False),  # TC-4: confirms the opt-out only
    ],
)
def test_which_messages_must_carry_the_statement(
    channel: Channel, purpose: Purpose, needed: bool
) -> None:
    assert needs_debt_collector_statement(channel, purpose) is needed


def test_the_shipped_playbooks_pass_the_check() -> None:
    templates = load_templates()

    for name in PLAYBOOKS:
        check_playbook(load_playbook(name)[0], templates)


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        pytest.param(
            "firm_sms",
            "{{ business }}: your account needs attention today. Call {{ callback }}.",
            f"does not say {EVERY!r}",
            id="a-text-without-the-statement",
        ),
        pytest.param(
            "firm_sms.friendly",
            "{{ business }}: a friendly reminder. Call {{ callback }}.",
            f"does not say {EVERY!r}",
            id="a-tone-variant-without-it",
        ),
        pytest.param(
            "broken_plan",
            "{{ business }}: we missed your payment. This is a communication from a debt collector.",
            f"does not say {INITIAL!r}",
            id="a-possible-first-communication-without-the-initial-statement",
        ),
        pytest.param(
            "payment_confirmation",
            "{{ business }}: thank you, your payment was received.",
            f"does not say {EVERY!r}",
            id="an-answer-without-the-statement",
        ),
        pytest.param(
            "dispute_response",
            "We have received your dispute. This is a communication from a debt collector.",
            "names no sender",
            id="a-communication-that-names-no-sender",
        ),
    ],
)
def test_a_communication_without_the_statement_fails_at_load(
    name: str, body: str, problem: str
) -> None:
    templates = _edited("en", name, "body", body)
    if name == "dispute_response":  # the subject names the business too
        templates.by_language["en"][name]["subject"] = "Your dispute"

    with pytest.raises(PlaybookError, match="RF-19") as raised:
        _default_playbook_check(templates)

    assert name in str(raised.value)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        pytest.param(
            "firm_sms.friendly",
            "{{ business }}：温馨提醒，您的账户需要处理，请致电 {{ callback }}。",  # noqa: RUF001
            f"does not say {ZH_EVERY!r}",
            id="the-reviewers-text-as-it-was",
        ),
        pytest.param(
            "firm_sms",
            "{{ business }}: call {{ callback }}. " + SENTENCE,
            f"does not say {ZH_EVERY!r}",
            id="the-english-statement-in-a-chinese-template",
        ),
        pytest.param(
            "broken_plan",
            "{{ business }}：我们尚未收到计划还款。本信息来自债务催收方。",  # noqa: RUF001
            f"does not say {ZH_INITIAL!r}",
            id="a-possible-first-communication-without-the-initial-statement",
        ),
        pytest.param(
            "cease_acknowledgement",
            "{{ business }}：我们已收到您的要求。",  # noqa: RUF001
            f"does not say {ZH_EVERY!r}",
            id="an-answer-without-the-statement",
        ),
    ],
)
def test_a_chinese_communication_without_the_statement_fails_at_load(
    name: str, body: str, problem: str
) -> None:
    """As an English one does: a US borrower who prefers Chinese is owed it too (RF-19)."""
    with pytest.raises(PlaybookError, match="RF-19") as raised:
        _default_playbook_check(_edited("zh-CN", name, "body", body))

    assert f"templates/zh-CN.yaml: {name}:" in str(raised.value)
    assert problem in str(raised.value)


def test_a_template_language_with_no_statement_to_check_fails_at_load() -> None:
    """Otherwise its templates could drop the statement and still start."""
    templates = load_templates()
    by_language = {**templates.by_language, "fr": copy.deepcopy(templates.by_language["en"])}

    with pytest.raises(PlaybookError, match=r"fr\.yaml: no debt-collector statement for 'fr'"):
        _default_playbook_check(
            Templates(by_language, templates.version, templates.without_opt_out_notice)
        )


def test_a_chinese_template_must_name_its_sender() -> None:
    nameless = _edited(
        "zh-CN",
        "dispute_response",
        "body",
        "我们已收到您的异议，核实期间暂停催收。",  # noqa: RUF001
    )
    nameless.by_language["zh-CN"]["dispute_response"]["subject"] = "您的异议"

    with pytest.raises(PlaybookError, match=r"zh-CN\.yaml: dispute_response: names no sender"):
        _default_playbook_check(nameless)


def test_a_voicemail_carrying_the_statement_would_not_be_a_limited_content_message() -> None:
    """Why voicemails are exempt rather than included: saying it discloses the debt (RF-18)."""
    templates = _edited(
        "en", "early_call", "body", "Hello, this is {{ agent }} from {{ business }}. " + SENTENCE
    )

    with pytest.raises(PlaybookError, match="limited-content voicemail"):
        _default_playbook_check(templates)
