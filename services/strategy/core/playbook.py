"""Loading and validating a playbook and its templates (data files shipped with the package)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from contracts.strategy import Segment
from contracts.values import Channel, Purpose
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

    def actions(self) -> list[Action]:
        """Every action the playbook can ask for (to validate its templates at load)."""
        found = [self.payment_confirmation, self.opt_out_confirmation, self.broken_promise]
        for stage in self.stages:
            found += [*stage.actions, *filter(None, [stage.on_unanswered_call])]
        found += [
            Action(channel=c, template=self.reminder.template) for c in self.reminder.channels
        ]
        if self.validation_notice:
            v = self.validation_notice
            found += [Action(channel=c, template=v.template) for c in v.channels]
        if self.plan:
            found += [Action(channel=c, template=self.plan.template) for c in self.plan.channels]
            found.append(self.plan.broken)
        found += [p.locate_via_contacts for p in self.segments.values() if p.locate_via_contacts]
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
    """Fail at start-up, not at send time: every template the playbook can ask for exists in
    English (the fallback language); voicemails are limited-content messages (RF-18) and
    location inquiries disclose nothing (RF-13), in every language and tone."""
    english = templates.by_language["en"]
    for action in playbook.actions():
        if action.template not in english:
            raise PlaybookError(
                f"playbooks/{playbook.name}.yaml: template {action.template!r} "
                "is not in templates/en.yaml"
            )
    _check_voicemails(playbook, templates)
    _check_opt_out_notices(playbook, templates)


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


# What a desk's contact request renders (services/orchestrator/core/decide.py).
REQUEST_TEMPLATES: dict[Channel, str] = {
    Channel.CALL: "early_call",
    Channel.SMS: "firm_sms",
    Channel.EMAIL: "formal_notice",
    Channel.LETTER: "formal_notice",
}


def _check_opt_out_notices(playbook: Playbook, templates: Templates) -> None:
    """A template without the opt-out footer is used only where none is needed: the text that
    confirms an opt-out (TC-4). Anywhere else that text or email would break RF-16."""
    plain = {
        (language, name.partition(".")[0]) for language, name in templates.without_opt_out_notice
    }
    uses: list[tuple[Channel, str, Purpose | None]] = [
        (
            a.channel,
            a.template,
            Purpose.OPT_OUT_CONFIRMATION if a is playbook.opt_out_confirmation else None,
        )
        for a in playbook.actions()
    ]
    uses += [(channel, template, None) for channel, template in REQUEST_TEMPLATES.items()]
    for channel, template, purpose in uses:
        languages = sorted(language for language, name in plain if name == template)
        if languages and needs_opt_out_notice(channel, purpose):
            raise PlaybookError(
                f"playbooks/{playbook.name}.yaml: template {template!r} has no opt-out notice "
                f"(templates/{languages[0]}.yaml) but is used for a {channel.value} that needs "
                "one; only the opt-out confirmation text may go without it (RF-16, TC-4)"
            )


def _check_voicemails(playbook: Playbook, templates: Templates) -> None:
    locate = {
        p.locate_via_contacts.template for p in playbook.segments.values() if p.locate_via_contacts
    }
    calls = {a.template for a in playbook.actions() if a.channel is Channel.CALL} - locate
    calls.add(REQUEST_TEMPLATES[Channel.CALL])
    for language, specs in templates.by_language.items():
        for name, spec in specs.items():
            base = name.partition(".")[0]
            if base in calls:
                problems, what = (
                    lcm_problems(spec.get("body", "")),
                    "a limited-content voicemail (RF-18)",
                )
            elif base in locate:
                problems, what = (
                    location_inquiry_problems(spec.get("body", "")),
                    "a location inquiry that discloses nothing (RF-13)",
                )
            else:
                continue
            if problems:
                raise PlaybookError(
                    f"templates/{language}.yaml: {name}: not {what}: {'; '.join(problems)}"
                )


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
