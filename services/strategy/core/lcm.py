"""Is a voicemail template a Reg F limited-content message (RF-18, 12 CFR 1006.2(j))?

An LCM is a voicemail that is an *attempt*, not a *communication*: it may say only (a) a business
name that does not show debt collection, (b) a request to reply, (c) the name of a natural person
to contact and (d) a callback number, plus optional items (a salutation, the date and time,
suggested times to reply, "you may speak to any representative"). Anything else, including
content some state law requires, makes it a communication left where a third party can hear it.

Checked on the template *source*, before any borrower's data is rendered into it, so a template
that could disclose the debt is refused when it is loaded rather than noticed after it is sent.
Pure: a string in, a list of problems out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "LEXICONS",
    "OPTIONAL_VARIABLES",
    "REQUIRED_VARIABLES",
    "Lexicon",
    "lcm_problems",
    "location_inquiry_problems",
    "revealing_terms",
]

# The render variables that carry items (a), (c) and (d); the playbook's render context
# fills them from the orchestrator's settings (business_name, agent_name, callback_number).
REQUIRED_VARIABLES: Mapping[str, str] = {
    "business": "(a) the business name",
    "agent": "(c) the name of a natural person to contact",
    "callback": "(d) a callback number",
}

# Optional items that would need a variable: the date and time of the message. No such variable
# exists in the render context today; these are the names one must use to be allowed here.
#
# Deliberately NOT here: the consumer's ``name``. A salutation is optional content the rule
# permits, but a voicemail is heard by whoever plays it back; greeting the consumer by name in a
# message from a named collector tells a family member or colleague who is being chased. We take
# the stricter reading: the salutation is generic ("Hello"), so the message discloses nothing.
OPTIONAL_VARIABLES: frozenset[str] = frozenset({"date", "time"})
_WHY = {"name": "no salutation by name: whoever plays the message back learns who is sought"}


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The words of one language that make (b) a request to reply, or that reveal collection.

    ``spaced`` languages match a term where it starts a word (English: "collect" also finds
    "collection", "collector"); unspaced ones (Chinese has no spaces between words) match it
    anywhere. A reply request must be said in full ("call", not "callback"), so in spaced languages
    it must also end a word.
    """

    reply_requests: tuple[str, ...]
    disclosures: tuple[str, ...]
    spaced: bool


LEXICONS: Mapping[str, Lexicon] = {
    "en": Lexicon(
        reply_requests=("call", "please call", "call back", "return our call", "reply"),
        disclosures=(
            "debt",
            "collect",
            "owe",
            "owing",
            "overdue",
            "past due",
            "payment",
            "repay",
            "balance",
            "account",
            "loan",
            "arrears",
            "delinquent",
            "delinquency",
        ),
        spaced=True,
    ),
    "zh-CN": Lexicon(
        reply_requests=("回电", "请回电", "请致电", "致电", "回复", "联系我们"),
        disclosures=("欠款", "逾期", "催收", "还款", "债务", "贷款", "借款", "账户"),
        spaced=False,
    ),
}

# Statements that could leave out a required item for some inputs, or pull in text from
# elsewhere; an LCM says the same four things every time, so none of them is allowed.
_CONTROL: Mapping[type[nodes.Node], str] = {
    nodes.If: "{% if %}",
    nodes.CondExpr: "inline if",
    nodes.For: "{% for %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
}


def lcm_problems(source: str) -> list[str]:
    """Why the voicemail template ``source`` is not a limited-content message; [] if it is one.

    Every variable it references must be one of :data:`REQUIRED_VARIABLES` (all of which must be
    there) or :data:`OPTIONAL_VARIABLES`; its literal text must ask for a reply and must not use a
    word of any :data:`LEXICONS` entry that reveals debt collection. All languages' words are
    checked in every template: a Chinese voicemail that says "debt" discloses just the same.
    """
    try:
        ast = _env().parse(source)
    except TemplateSyntaxError as exc:
        return [f"not a valid template (line {exc.lineno}): {exc.message}"]
    variables = meta.find_undeclared_variables(ast)
    text = " ".join(_literal_text(ast))
    missing = [
        f"missing {item}: reference {{{{ {name} }}}}"
        for name, item in REQUIRED_VARIABLES.items()
        if name not in variables
    ]
    if not any(
        _says(text, term, lex, whole=True)
        for lex in LEXICONS.values()
        for term in lex.reply_requests
    ):
        examples = ", ".join(repr(lex.reply_requests[0]) for lex in LEXICONS.values())
        missing.append(f"missing (b) a request to reply, e.g. {examples}")
    problems = sorted(missing)  # in the rule's order: (a), (b), (c), (d)
    allowed = REQUIRED_VARIABLES.keys() | OPTIONAL_VARIABLES
    problems += [
        f"forbidden variable {{{{ {name} }}}}: "
        + _WHY.get(
            name, "a limited-content message may reference only " + ", ".join(sorted(allowed))
        )
        for name in sorted(variables - allowed)
    ]
    problems += [
        f"forbidden word {term!r} ({language}): it reveals debt collection"
        for language, term in revealing_terms(text)
    ]
    problems += [
        f"forbidden {tag}: it can leave out a required item or add other content"
        for tag in sorted({_CONTROL[type(node)] for node in ast.find_all(tuple(_CONTROL))})
    ]
    return problems


# RF-13: a location inquiry gives the caller's own name and asks for a call back; it names no
# business (the employer only if asked, which a recorded message cannot be) and no debt.
LOCATION_INQUIRY_VARIABLES: frozenset[str] = frozenset({"agent", "callback"})


def location_inquiry_problems(source: str) -> list[str]:
    """Why ``source`` could disclose something to a third party asked to help locate a person
    (RF-13, CN-3); [] if it cannot. Applies to every channel a location inquiry may use."""
    try:
        ast = _env().parse(source)
    except TemplateSyntaxError as exc:
        return [f"not a valid template (line {exc.lineno}): {exc.message}"]
    variables = meta.find_undeclared_variables(ast)
    problems = [
        f"forbidden variable {{{{ {name} }}}}: a location inquiry may reference only "
        + ", ".join(sorted(LOCATION_INQUIRY_VARIABLES))
        for name in sorted(variables - LOCATION_INQUIRY_VARIABLES)
    ]
    problems += [
        f"forbidden word {term!r} ({language}): it reveals debt collection"
        for language, term in revealing_terms(" ".join(_literal_text(ast)))
    ]
    return problems


def revealing_terms(text: str) -> list[tuple[str, str]]:
    """(language, term) for every word in ``text`` that reveals debt collection. Also what to
    check a configured business name with: item (a) must not show debt collection either."""
    return [
        (language, term)
        for language, lex in LEXICONS.items()
        for term in lex.disclosures
        if _says(text, term, lex, whole=False)
    ]


@functools.cache
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False)


def _literal_text(ast: nodes.Template) -> list[str]:
    """What the template says in its own words: text between tags and string constants in
    expressions (``{{ "debt" }}`` says "debt" too). Variable names are checked separately."""
    data = [node.data for node in ast.find_all(nodes.TemplateData)]
    consts = [node.value for node in ast.find_all(nodes.Const) if isinstance(node.value, str)]
    return data + consts


def _says(text: str, term: str, lexicon: Lexicon, *, whole: bool) -> bool:
    return re.search(_pattern(term, lexicon.spaced, whole=whole), text, re.IGNORECASE) is not None


def _pattern(term: str, spaced: bool, *, whole: bool) -> str:
    body = r"\s+".join(re.escape(word) for word in term.split())
    if not spaced:
        return body
    # ASCII letters, not \w: in mixed text a Chinese character next to an English word is \w too.
    return r"(?<![a-z])" + body + (r"(?![a-z])" if whole else "")
