"""Loading and validating a playbook and its templates (data files shipped with the package)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from contracts.strategy import Segment
from contracts.values import Channel, PartyRole, Purpose
from services.strategy.core.lcm import lcm_problems, location_inquiry_problems, revealing_terms


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Action(_Strict):
    channel: Channel
    template: str
    # Who is contacted: the borrower, or each guarantor linked to the debt when the loan's
    # contract allows it (a party with its own consent and budget: the gate decides).
    party: Literal["borrower", "guarantor"] = "borrower"


class Stage(_Strict):
    id: str
    from_dpd: int = Field(ge=0)
    to_dpd: int = Field(ge=0)
    every_days: int = Field(default=1, ge=1)
    actions: tuple[Action, ...] = ()
    on_unanswered_call: Action | None = None
    # The legal hand-off: entering this stage records HandedOffToLegal and contact stops.
    hand_off: bool = False


class Reminder(_Strict):
    days_before_due: int = Field(ge=0)
    local_time: time
    channels: tuple[Channel, ...]
    template: str


class Posture(_Strict):
    """How the strategy treats a segment: the tone (template variant) and the cadence."""

    tone: str | None = None
    every_days: dict[str, int] = Field(
        default_factory=dict, description="Stage id -> cadence in days, replacing the stage's own"
    )
    # Unreachable borrowers: ask each linked contact person, once, to help locate them
    # (RF-13 location inquiry; CN-3 allows it only while the debtor is unreachable).
    locate_via_contacts: Action | None = None


class Segmentation(_Strict):
    """Thresholds that place a borrower in one of the four segments (pure data, no code)."""

    unreachable_after: int = Field(
        default=3, ge=1, description="Consecutive unanswered or undelivered attempts, never reached"
    )
    unwilling_after_conversations: int = Field(
        default=2, ge=1, description="Conversations, with no payment or promise ever"
    )


class ValidationNotice(_Strict):
    """RF-20: with the first communication about a debt a third-party collector makes."""

    channels: tuple[Channel, ...]
    template: str


class PlanReminders(_Strict):
    """An agreed plan replaces the stages with a reminder before each instalment."""

    days_before_due: int = Field(default=1, ge=0)
    local_time: time = time(14, 0)
    channels: tuple[Channel, ...] = (Channel.SMS,)
    template: str
    grace_days: int = Field(default=2, ge=0)
    broken: Action


class Playbook(_Strict):
    name: str
    # Loan products this playbook is for; the default playbook takes every other product.
    products: tuple[str, ...] = ()
    reminder: Reminder
    promise_grace_days: int = Field(default=2, ge=0)
    stages: tuple[Stage, ...]
    payment_confirmation: Action
    opt_out_confirmation: Action
    broken_promise: Action
    validation_notice: ValidationNotice | None = None
    plan: PlanReminders | None = None
    segmentation: Segmentation = Segmentation()
    segments: dict[Segment, Posture] = Field(default_factory=dict)

    def stage_for(self, dpd: int) -> Stage | None:
        return next((s for s in self.stages if s.from_dpd <= dpd <= s.to_dpd), None)

    def posture(self, segment: Segment | None) -> Posture:
        """A borrower not yet placed is treated as cooperative (the seeds' default)."""
        return self.segments.get(segment or Segment.COOPERATIVE, _NEUTRAL)

    def actions(self) -> list[tuple[Action, Purpose]]:
        """Every action the playbook can ask for, with the purpose services/strategy/core/ask.py
        asks it for (to validate its templates at load)."""
        collection = [self.broken_promise]
        for stage in self.stages:
            collection += [*stage.actions, *filter(None, [stage.on_unanswered_call])]
        found = [(a, Purpose.COLLECTION) for a in collection]
        found += [
            (self.payment_confirmation, Purpose.PAYMENT_CONFIRMATION),
            (self.opt_out_confirmation, Purpose.OPT_OUT_CONFIRMATION),
        ]
        found += [
            (Action(channel=c, template=self.reminder.template), Purpose.REMINDER)
            for c in self.reminder.channels
        ]
        if self.validation_notice:
            v = self.validation_notice
            found += [
                (Action(channel=c, template=v.template), Purpose.VALIDATION_NOTICE)
                for c in v.channels
            ]
        if self.plan:
            found += [
                (Action(channel=c, template=self.plan.template), Purpose.REMINDER)
                for c in self.plan.channels
            ]
            found.append((self.plan.broken, Purpose.COLLECTION))
        found += [
            (p.locate_via_contacts, Purpose.LOCATION_INQUIRY)
            for p in self.segments.values()
            if p.locate_via_contacts
        ]
        return found


_NEUTRAL = Posture()


class PlaybookError(ValueError):
    pass


def needs_opt_out_notice(channel: Channel, purpose: Purpose | None) -> bool:
    """Whether a message must tell the person how to opt out (RF-16): every text and email,
    except the one text confirming an opt-out (TC-4), which says no more texts will come.
    ``None`` is any other purpose. The audit holds tasks to the same rule."""
    if channel is Channel.SMS and purpose is Purpose.OPT_OUT_CONFIRMATION:
        return False
    return channel in (Channel.SMS, Channel.EMAIL)


SAMPLE = {
    "name": "N",
    "amount": "1.00 USD",
    "balance": "1.00 USD",
    "due_date": "2026-01-01",
    "business": "B",
    "agent": "A",
    "callback": "+10000000000",
    "dpd": "1",
}


@dataclass(frozen=True)
class Templates:
    """Sandboxed Jinja2 templates per language, compiled once at load; a missing variable fails
    at load (rendered against sample values), not at send time."""

    by_language: dict[str, dict[str, dict[str, str]]]
    version: str
    # (language, name) of templates marked `opt_out_notice: false`: rendered without the footer.
    without_opt_out_notice: frozenset[tuple[str, str]] = frozenset()
    compiled: dict[tuple[str, str, str], Template] = field(default_factory=dict, compare=False)

    def render(
        self,
        language: str,
        name: str,
        channel: Channel,
        variables: dict[str, str],
        tone: str | None = None,
    ) -> tuple[str, str]:
        """Render in the person's language (else English), in the tone's variant if there is one."""
        lang = language if name in self.by_language.get(language, {}) else "en"
        if tone and f"{name}.{tone}" in self.by_language[lang]:
            name = f"{name}.{tone}"
        subject = self._template(lang, name, "subject").render(**variables)
        body = self._template(lang, name, "body").render(**variables)
        if (lang, name) in self.without_opt_out_notice:
            return subject, body  # TC-4: check_playbook allows it only for that text
        footer = self.by_language[lang].get("_footer", {}).get(channel.value, "")
        return subject, body + footer  # RF-16: every text and email carries the opt-out

    def _template(self, language: str, name: str, part: str) -> Template:
        key = (language, name, part)
        template = self.compiled.get(key)
        if template is None:
            template = self.compiled[key] = _env().from_string(
                self.by_language[language][name].get(part, "")
            )
        return template


@functools.cache
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _read(package: str, name: str) -> tuple[bytes, Any]:
    raw = resources.files(package).joinpath(name).read_bytes()
    return raw, yaml.safe_load(raw)


def load_templates() -> Templates:
    by_language: dict[str, dict[str, dict[str, str]]] = {}
    without_notice: set[tuple[str, str]] = set()
    digest = hashlib.sha256()
    for language in ("en", "zh-CN"):
        raw, data = _read("services.strategy.templates", f"{language}.yaml")
        digest.update(raw)
        by_language[language] = data
    env = _env()
    for language, specs in by_language.items():
        for name, spec in specs.items():
            if name.startswith("_"):
                continue
            # A flag, not text: kept apart so every part left in a spec is a template string.
            notice = spec.pop("opt_out_notice", True)
            if not isinstance(notice, bool):
                raise PlaybookError(
                    f"templates/{language}.yaml: {name}.opt_out_notice: must be true or false"
                )
            if not notice:
                without_notice.add((language, name))
            for part in ("subject", "body"):
                try:
                    env.from_string(spec.get(part, "")).render(**SAMPLE)
                except TemplateError as exc:
                    raise PlaybookError(
                        f"templates/{language}.yaml: {name}.{part}: {exc}"
                    ) from None
    return Templates(by_language, digest.hexdigest()[:16], frozenset(without_notice))


def load_playbook(name: str = "default") -> tuple[Playbook, str]:
    raw, data = _read("services.strategy.playbooks", f"{name}.yaml")
    try:
        playbook = Playbook.model_validate(data)
    except ValueError as exc:
        raise PlaybookError(f"playbooks/{name}.yaml: {exc}") from None
    return playbook, hashlib.sha256(raw).hexdigest()[:16]


def check_playbook(playbook: Playbook, templates: Templates) -> None:
    """Fail at start-up, not at send time: every template the playbook or a desk's request can
    ask for exists in English (the fallback language); voicemails are limited-content messages
    (RF-18) and location inquiries disclose nothing (RF-13), in every language and tone; every
    text and email can be opted out of (RF-16); every communication names its sender and says
    it is from a debt collector (RF-19)."""
    english = templates.by_language["en"]
    for _, template, _ in _uses(playbook):
        if template not in english:
            raise PlaybookError(
                f"playbooks/{playbook.name}.yaml: template {template!r} is not in templates/en.yaml"
            )
    _check_voicemails(playbook, templates)
    _check_opt_out_notices(playbook, templates)
    _check_debt_collector_statements(playbook, templates)


def _uses(playbook: Playbook) -> list[tuple[Channel, str, Purpose]]:
    """(channel, template, purpose) of everything the playbook and a desk's request can render."""
    found = [(a.channel, a.template, purpose) for a, purpose in playbook.actions()]
    return found + REQUEST_TEMPLATES.uses()


def check_tones(playbooks: list[Playbook], templates: Templates) -> None:
    """Every tone variant (``name.tone``) has a base template and a playbook that uses the tone:
    an orphan variant is a typo that would silently never be sent."""
    tones = {p.tone for pb in playbooks for p in pb.segments.values() if p.tone}
    english = templates.by_language["en"]
    for name in english:
        base, _, tone = name.partition(".")
        if tone and tone not in tones:
            raise PlaybookError(
                f"templates/en.yaml: {name!r}: tone {tone!r} is not used by any segment"
            )
        if tone and base not in english:
            raise PlaybookError(f"templates/en.yaml: {name!r}: no base template {base!r}")


def check_business_name(business: str) -> None:
    """RF-18 (a): the business name a voicemail gives must not show debt collection."""
    found = revealing_terms(business)
    if found:
        words = ", ".join(repr(term) for _, term in found)
        raise PlaybookError(
            f"business name {business!r} reveals debt collection ({words}); voicemails "
            "must not (RF-18)"
        )


@dataclass(frozen=True)
class RequestTemplates:
    """What a desk's contact request renders (services/orchestrator/core/decide.py), chosen by
    the purpose, the channel and who is contacted. A combination with no template here is not
    sent with another purpose's text: the desk is answered with a reason instead."""

    # The borrower or a guarantor: a guarantor is obligated on the debt, so a consumer too.
    consumer: Mapping[tuple[Purpose, Channel], str]
    # A contact person is a third party (RF-12): only ever asked to help locate the borrower,
    # in words that name neither the debt nor the business (RF-13, CN-3).
    third_party: Mapping[tuple[Purpose, Channel], str]

    def choose(self, role: PartyRole | None, purpose: Purpose, channel: Channel) -> str | None:
        """The template for this request, or None if it must not be sent. ``None`` is a party
        not on file (the gate answers that one)."""
        table = self.third_party if role is PartyRole.CONTACT_PERSON else self.consumer
        return table.get((purpose, channel))

    def refusal(self, role: PartyRole | None, purpose: Purpose) -> str:
        """The machine-readable reason a request with no template is answered with."""
        if role is PartyRole.CONTACT_PERSON and purpose is not Purpose.LOCATION_INQUIRY:
            return REFUSED_THIRD_PARTY
        return REFUSED_NO_TEMPLATE

    def uses(self) -> list[tuple[Channel, str, Purpose]]:
        """Every (channel, template, purpose) a request can render, to check at load."""
        return [
            (channel, template, purpose)
            for table in (self.consumer, self.third_party)
            for (purpose, channel), template in table.items()
        ]


# IntentDropped reasons for a request that is not sent.
REFUSED_THIRD_PARTY = "third_party_location_inquiry_only"  # a contact person, another purpose
REFUSED_NO_TEMPLATE = "no_template_for_request"  # e.g. a cease acknowledgement by call

REQUEST_TEMPLATES = RequestTemplates(
    consumer={
        # A call renders only its voicemail, a limited-content message whatever the purpose.
        (Purpose.COLLECTION, Channel.CALL): "early_call",
        (Purpose.COLLECTION, Channel.SMS): "firm_sms",
        (Purpose.COLLECTION, Channel.EMAIL): "formal_notice",
        (Purpose.COLLECTION, Channel.LETTER): "formal_notice",
        (Purpose.REMINDER, Channel.CALL): "early_call",
        (Purpose.REMINDER, Channel.SMS): "pre_due_reminder",
        (Purpose.REMINDER, Channel.EMAIL): "pre_due_reminder",
        (Purpose.VALIDATION_NOTICE, Channel.EMAIL): "validation_notice",
        (Purpose.VALIDATION_NOTICE, Channel.LETTER): "validation_notice",
        # Answers owed to the consumer, in writing: never the demand they stop (a dispute's
        # verification is written, and after a cease RF-11 leaves only its own messages, so
        # neither is a call).
        (Purpose.DISPUTE_RESPONSE, Channel.SMS): "dispute_response",
        (Purpose.DISPUTE_RESPONSE, Channel.EMAIL): "dispute_response",
        (Purpose.DISPUTE_RESPONSE, Channel.LETTER): "dispute_response",
        (Purpose.CEASE_ACKNOWLEDGEMENT, Channel.SMS): "cease_acknowledgement",
        (Purpose.CEASE_ACKNOWLEDGEMENT, Channel.EMAIL): "cease_acknowledgement",
        (Purpose.CEASE_ACKNOWLEDGEMENT, Channel.LETTER): "cease_acknowledgement",
        (Purpose.PAYMENT_CONFIRMATION, Channel.SMS): "payment_confirmation",
        (Purpose.PAYMENT_CONFIRMATION, Channel.EMAIL): "payment_confirmation",
        (Purpose.PAYMENT_CONFIRMATION, Channel.LETTER): "payment_confirmation",
        (Purpose.OPT_OUT_CONFIRMATION, Channel.SMS): "opt_out_confirmation",  # TC-4: a text only
    },
    third_party={
        # No letter: an envelope or postcard must not show collection (RF-13), and one cannot
        # be sure of either at a print house.
        (Purpose.LOCATION_INQUIRY, Channel.CALL): "location_inquiry_call",
        (Purpose.LOCATION_INQUIRY, Channel.SMS): "location_inquiry_message",
        (Purpose.LOCATION_INQUIRY, Channel.EMAIL): "location_inquiry_message",
    },
)


def needs_debt_collector_statement(channel: Channel, purpose: Purpose) -> bool:
    """Whether a message must say it is from a debt collector (RF-19, 12 CFR 1006.18(e)): every
    communication about a debt, except a voicemail (a limited-content message is an attempt,
    not a communication, RF-18, and saying it would disclose the debt to whoever plays it), a
    location inquiry (RF-13: never say there is a debt) and the text confirming an opt-out
    (TC-4: it confirms the opt-out and says nothing about a debt)."""
    if channel is Channel.CALL:
        return False
    return purpose not in (Purpose.LOCATION_INQUIRY, Purpose.OPT_OUT_CONFIRMATION)


# The purposes the strategy can open contact about a debt with (decide's _COMMUNICATIONS, which
# also ask the validation notice): any of them may be the initial communication, which must add
# that it is an attempt to collect a debt and what information obtained is used for (RF-19).
_MAY_BE_INITIAL = frozenset({Purpose.REMINDER, Purpose.COLLECTION})


@dataclass(frozen=True)
class DebtCollectorStatement:
    """RF-19's statements in one language, as phrases a template's text must contain."""

    every: str  # every communication: it is from a debt collector
    initial: str  # the initial one: information obtained will be used to collect the debt


# Per template language, one for every language the templates are written in (checked at load):
# a template is chosen by the person's language, not by where they live, so a US borrower who
# prefers zh-CN reads the zh-CN text, and Reg F needs the statement there as much as in English.
DEBT_COLLECTOR_STATEMENTS: Mapping[str, DebtCollectorStatement] = {
    "en": DebtCollectorStatement(
        every="debt collector", initial="information obtained will be used for that purpose"
    ),
    # "a debt collector", "information obtained will be used for this purpose"
    "zh-CN": DebtCollectorStatement(every="债务催收方", initial="所获信息将用于此目的"),
}


def _check_opt_out_notices(playbook: Playbook, templates: Templates) -> None:
    """A template without the opt-out footer is used only where none is needed: the text that
    confirms an opt-out (TC-4). Anywhere else that text or email would break RF-16."""
    plain = {
        (language, name.partition(".")[0]) for language, name in templates.without_opt_out_notice
    }
    for channel, template, purpose in _uses(playbook):
        languages = sorted(language for language, name in plain if name == template)
        if languages and needs_opt_out_notice(channel, purpose):
            raise PlaybookError(
                f"playbooks/{playbook.name}.yaml: template {template!r} has no opt-out notice "
                f"(templates/{languages[0]}.yaml) but is used for a {channel.value} that needs "
                "one; only the opt-out confirmation text may go without it (RF-16, TC-4)"
            )


def _check_voicemails(playbook: Playbook, templates: Templates) -> None:
    uses = _uses(playbook)
    locate = {template for _, template, purpose in uses if purpose is Purpose.LOCATION_INQUIRY}
    calls = {template for channel, template, _ in uses if channel is Channel.CALL} - locate
    for language, specs in templates.by_language.items():
        for name, spec in specs.items():
            base = name.partition(".")[0]
            if base in calls:
                problems, what = (
                    lcm_problems(spec.get("body", "")),
                    "a limited-content voicemail (RF-18)",
                )
            elif base in locate:
                # Every part: an email's subject is read by the third party too.
                problems, what = (
                    [
                        problem
                        for part in ("subject", "body")
                        for problem in location_inquiry_problems(spec.get(part, ""))
                    ],
                    "a location inquiry that discloses nothing (RF-13)",
                )
            else:
                continue
            if problems:
                raise PlaybookError(
                    f"templates/{language}.yaml: {name}: not {what}: {'; '.join(problems)}"
                )


def _check_debt_collector_statements(playbook: Playbook, templates: Templates) -> None:
    """RF-19: every communication the playbook or a desk can send names the business it is from
    and says, in its language's words (DEBT_COLLECTOR_STATEMENTS), that it is from a debt
    collector; one that may open contact about a debt also says what the initial communication
    must. Every tone variant of such a template is held to the same, and a template language
    with no statement to hold it to is refused."""
    initial: dict[str, bool] = {}  # template -> whether it may be the initial communication
    for channel, template, purpose in _uses(playbook):
        if needs_debt_collector_statement(channel, purpose):
            initial[template] = initial.get(template, False) or purpose in _MAY_BE_INITIAL
    for language, specs in templates.by_language.items():
        statement = DEBT_COLLECTOR_STATEMENTS.get(language)
        if statement is None:
            raise PlaybookError(
                f"templates/{language}.yaml: no debt-collector statement for {language!r} in "
                "DEBT_COLLECTOR_STATEMENTS, so its templates could not be checked (RF-19)"
            )
        for name, spec in specs.items():
            base = name.partition(".")[0]
            if name.startswith("_") or base not in initial:
                continue
            problems = _statement_problems(spec, statement, initial=initial[base])
            if problems:
                raise PlaybookError(
                    f"templates/{language}.yaml: {name}: {'; '.join(problems)} (RF-19)"
                )


def _statement_problems(
    spec: dict[str, str], statement: DebtCollectorStatement, *, initial: bool
) -> list[str]:
    env = _env()
    parts = [spec.get(part, "") for part in ("subject", "body")]
    variables = set().union(*(meta.find_undeclared_variables(env.parse(p)) for p in parts))
    problems = [] if "business" in variables else ["names no sender: reference {{ business }}"]
    said = " ".join(env.from_string(parts[1]).render(**SAMPLE).split()).casefold()
    wanted = [statement.every, *([statement.initial] if initial else [])]
    problems += [
        f"the body does not say {phrase!r}" for phrase in wanted if phrase.casefold() not in said
    ]
    return problems


@dataclass(frozen=True)
class Strategy:
    """Every playbook shipped, the templates, and one version over all of them (P5)."""

    default: Playbook
    by_product: dict[str, Playbook]
    templates: Templates
    version: str


def load_strategy(default: str = "default") -> Strategy:
    """The named default playbook, plus every other playbook file that names its products.
    Each is checked against the templates; a product claimed twice is an error."""
    digest = hashlib.sha256()
    templates = load_templates()
    names = sorted(
        f.name.removesuffix(".yaml")
        for f in resources.files("services.strategy.playbooks").iterdir()
        if f.name.endswith(".yaml")
    )
    if default not in names:
        raise PlaybookError(
            f"playbooks/{default}.yaml: no such playbook; known: {', '.join(names)}"
        )
    main: Playbook | None = None
    by_product: dict[str, Playbook] = {}
    for name in names:
        playbook, version = load_playbook(name)
        if name != default and not playbook.products:
            continue  # an alternative default, not in force
        check_playbook(playbook, templates)
        digest.update(version.encode())
        if name == default:
            main = playbook
            continue
        for product in playbook.products:
            if product in by_product:
                raise PlaybookError(
                    f"playbooks/{name}.yaml: product {product!r} is already "
                    f"{by_product[product].name!r}'s"
                )
            by_product[product] = playbook
    assert main is not None
    check_tones([main, *by_product.values()], templates)
    return Strategy(main, by_product, templates, f"{digest.hexdigest()[:16]}.{templates.version}")
