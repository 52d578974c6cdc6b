"""RF-18: which voicemail templates are Reg F limited-content messages, and why the others are not."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from services.strategy.core.lcm import lcm_problems, location_inquiry_problems, revealing_terms

LANGUAGES = ("en", "zh-CN")
LCM = "Hello, this is {{ agent }} from {{ business }}. Please call {{ callback }}."


def _data(package: str, name: str) -> Any:
    return yaml.safe_load(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def _call_templates(node: Any) -> set[str]:
    """Every template the playbook places as a call to the borrower or a guarantor, wherever in
    the playbook it is named. Location inquiries to contact persons have their own, stricter
    check (RF-13: no business name either), below."""
    if isinstance(node, dict):
        found = {str(node["template"])} if node.get("channel") == "call" else set()
        inquiry = node.get("locate_via_contacts")
        if isinstance(inquiry, dict):
            node = {k: v for k, v in node.items() if k != "locate_via_contacts"}
        return found.union(*(_call_templates(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_call_templates(v) for v in node))
    return set()


def _voicemails() -> list[tuple[str, str, str]]:
    """(language, template name, body) of every shipped voicemail, tone variants included
    (``early_call.friendly`` is rendered in place of ``early_call`` for some borrowers)."""
    calls = _call_templates(_data("services.strategy.playbooks", "default.yaml"))
    found = []
    for language in LANGUAGES:
        templates = _data("services.strategy.templates", f"{language}.yaml")
        for name, spec in templates.items():
            if name.split(".")[0] in calls:
                found.append((language, name, str(spec["body"])))
    return found


VOICEMAILS = _voicemails()


@pytest.mark.parametrize(
    ("language", "name", "body"),
    VOICEMAILS,
    ids=[f"{language}:{name}" for language, name, _ in VOICEMAILS],
)
def test_every_shipped_voicemail_template_is_a_limited_content_message(
    language: str, name: str, body: str
) -> None:
    """What we ship today passes: business, agent, callback and a request to reply, nothing else."""
    assert lcm_problems(body) == []


def test_the_voicemails_checked_include_every_stage_call_in_both_languages() -> None:
    """Guards the table above: a playbook read wrongly would otherwise check nothing."""
    checked = {(language, name) for language, name, _ in VOICEMAILS}

    assert {
        (language, name)
        for language in LANGUAGES
        for name in ("early_call", "firm_call", "guarantor_call")
    } <= checked


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(LCM, id="en-minimal"),
        pytest.param(
            "您好。我是{{ business }}的{{ agent }}。请回电 {{ callback }}。", id="zh-minimal"
        ),
        pytest.param(
            "Hi, this is {{ agent }} at {{ business }}, calling on {{ date }} at {{ time }}. "
            "Please call {{ callback }} between 9 and 5; you may speak to any representative.",
            id="optional-items",
        ),
        pytest.param(
            "{{ agent | upper }} of {{ business }}: reply to {{ callback }}.", id="filters-are-fine"
        ),
        pytest.param(
            "This is {{ agent }} from {{ business }}. Please give us a CALL at {{ callback }}.",
            id="case-insensitive-request",
        ),
    ],
)
def test_limited_content_messages_pass(source: str) -> None:
    """Required items plus the optional ones the rule permits (date, time, suggested times)."""
    assert lcm_problems(source) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            LCM + " You owe {{ amount }}.",
            ["forbidden variable {{ amount }}", "forbidden word 'owe'"],
            id="mentions-the-amount",
        ),
        pytest.param(
            "Hello, this is {{ agent }} from {{ business }}. Please call us back.",
            ["missing (d) a callback number: reference {{ callback }}"],
            id="no-callback",
        ),
        pytest.param(
            "Hello, this is {{ agent }} from {{ business }} about a debt. Please call {{ callback }}.",
            ["forbidden word 'debt' (en)"],
            id="says-debt",
        ),
        pytest.param(
            "您好。我是{{ business }}的{{ agent }}。您的款项已逾期。请回电 {{ callback }}。",
            ["forbidden word '逾期' (zh-CN)"],
            id="zh-says-overdue",
        ),
        pytest.param(
            "Hello {{ name }}, this is {{ agent }} from {{ business }}. Please call {{ callback }}.",
            ["forbidden variable {{ name }}"],
            id="greets-the-consumer-by-name",
        ),
        pytest.param(
            "This is {{ agent }} from {{ business }}: {{ callback }}.",
            ["missing (b) a request to reply"],
            id="no-request-to-reply",
        ),
        pytest.param(
            "Hello, this is {{ business }}. Please call {{ callback }}.",
            ["missing (c) the name of a natural person"],
            id="no-person",
        ),
        pytest.param(
            "Hello, this is {{ agent }}. Please call {{ callback }}.",
            ["missing (a) the business name"],
            id="no-business",
        ),
        pytest.param(
            "This is {{ agent }} from {{ business }}, {{ dpd }} days on. Please call {{ callback }}.",
            ["forbidden variable {{ dpd }}"],
            id="mentions-days-past-due",
        ),
        pytest.param(
            "This is {{ agent }} from {{ business }} about your loan account. Call {{ callback }}.",
            ["forbidden word 'account' (en)", "forbidden word 'loan' (en)"],
            id="two-disclosing-words",
        ),
        pytest.param(
            "This is {{ agent }} from the {{ business }} collections team. Call {{ callback }}.",
            ["forbidden word 'collect' (en)"],
            id="a-word-stem-is-enough",
        ),
        pytest.param(
            LCM + " 关于您的贷款。",
            ["forbidden word '贷款' (zh-CN)"],
            id="any-language-is-checked",
        ),
        pytest.param(
            'This is {{ agent }} from {{ business }}{{ " debt recovery" }}. Call {{ callback }}.',
            ["forbidden word 'debt' (en)"],
            id="string-constants-count-as-text",
        ),
        pytest.param(
            "This is {{ agent }} from {{ business }}.{% if dpd %} Call {{ callback }}.{% endif %}",
            ["forbidden variable {{ dpd }}", "forbidden {% if %}"],
            id="a-conditional-can-drop-an-item",
        ),
        pytest.param(
            LCM + " {{ callback",
            ["not a valid template (line 1)"],
            id="syntax-error",
        ),
    ],
)
def test_templates_that_are_not_limited_content_messages_say_why(
    source: str, expected: list[str]
) -> None:
    """Each problem names what is missing or forbidden; nothing else is reported."""
    problems = lcm_problems(source)

    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problems


@pytest.mark.parametrize(
    ("business", "found"),
    [
        ("Parley Services", []),
        ("Acme Debt Recovery", [("en", "debt")]),
        ("Northwind Collections", [("en", "collect")]),
        ("信达催收", [("zh-CN", "催收")]),
    ],
)
def test_a_business_name_is_checked_with_the_same_words(
    business: str, found: list[tuple[str, str]]
) -> None:
    """Item (a) is a setting, not template text: the lead can check it with the same lexicons."""
    assert revealing_terms(business) == found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_location_inquiry_names_no_business_and_no_debt(language: str) -> None:
    """RF-13: the caller's own name and a callback; the employer only if asked (never in a
    recorded message); never the debt."""
    body = _data("services.strategy.templates", f"{language}.yaml")["location_inquiry_call"]["body"]

    assert location_inquiry_problems(body) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (LCM, "forbidden variable {{ business }}"),
        ("This is {{ agent }} about a debt. Call {{ callback }}.", "forbidden word 'debt'"),
        ("{{ agent }}: {{ amount }}. Call {{ callback }}.", "forbidden variable {{ amount }}"),
    ],
)
def test_a_location_inquiry_that_could_disclose_is_refused(body: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in location_inquiry_problems(body))
