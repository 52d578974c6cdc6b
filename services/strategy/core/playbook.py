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

from contracts.values import Channel


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


class Reminder(_Strict):
    days_before_due: int = Field(ge=0)
    local_time: time
    channels: tuple[Channel, ...]
    template: str


class Playbook(_Strict):
    name: str
    reminder: Reminder
    promise_grace_days: int = Field(default=2, ge=0)
    stages: tuple[Stage, ...]
    payment_confirmation: Action
    opt_out_confirmation: Action
    broken_promise: Action

    def stage_for(self, dpd: int) -> Stage | None:
        return next((s for s in self.stages if s.from_dpd <= dpd <= s.to_dpd), None)


class PlaybookError(ValueError):
    pass


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
    compiled: dict[tuple[str, str, str], Template] = field(default_factory=dict, compare=False)

    def render(
        self, language: str, name: str, channel: Channel, variables: dict[str, str]
    ) -> tuple[str, str]:
        lang = language if name in self.by_language.get(language, {}) else "en"
        subject = self._template(lang, name, "subject").render(**variables)
        body = self._template(lang, name, "body").render(**variables)
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
            for part in ("subject", "body"):
                try:
                    env.from_string(spec.get(part, "")).render(**SAMPLE)
                except TemplateError as exc:
                    raise PlaybookError(
                        f"templates/{language}.yaml: {name}.{part}: {exc}"
                    ) from None
    return Templates(by_language, digest.hexdigest()[:16])


def load_playbook(name: str = "default") -> tuple[Playbook, str]:
    raw, data = _read("services.strategy.playbooks", f"{name}.yaml")
    try:
        playbook = Playbook.model_validate(data)
    except ValueError as exc:
        raise PlaybookError(f"playbooks/{name}.yaml: {exc}") from None
    return playbook, hashlib.sha256(raw).hexdigest()[:16]
