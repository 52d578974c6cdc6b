"""Loading a policy: the packs it combines, overrides, validation, and its content-hash version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path as FsPath
from typing import Any

from services.compliance.core import _loader, schema
from services.compliance.core._yaml import Path, line_of, load_located
from services.compliance.core.errors import PolicyError
from services.compliance.core.zones import Places, tzdata_countries

# Policy version -> its Places: the version is a hash of the zones data, among the rest.
_PLACES: dict[str, Places] = {}

# The jurisdiction of packs that apply to a person no other pack (but the baseline) applies to.
ELSEWHERE = "elsewhere"

_OVERRIDABLE: dict[str, tuple[str, ...]] = {
    "counters": ("max", "rolling_days"),
    "cooldowns": ("block_days",),
    "windows": ("start", "end"),
    "holidays": ("no_contact_on_public_holidays",),
}


@dataclass(frozen=True, eq=False)
class Policy:
    """A combined, validated policy. ``version`` pins every decision to its exact data (P4, P5)."""

    name: str
    version: str
    packs: tuple[schema.Pack, ...]
    kinds: dict[str, schema.Kind] = field(repr=False)
    zones: schema.ZonesData = field(repr=False)

    @cached_property
    def places(self) -> Places:
        """Where people are, by this policy's own zones data (P5); one per policy version, so a
        policy read again (each audit reads the recorded ones) finds what was worked out."""
        found = _PLACES.get(self.version)
        if found is None:
            found = _PLACES[self.version] = Places(self.zones)
        return found

    @cached_property
    def keywords(self) -> frozenset[str]:
        return frozenset(word for pack in self.packs for word in pack.opt_out_keywords)

    @cached_property
    def revoke_all(self) -> tuple[schema.OptOutRule, ...]:
        """Opt-out rules by which a revocation on one medium stops others (``across``, TC-5):
        looked for once, not at every task decided and every authorisation audited."""
        return tuple(rule for pack in self.packs for rule in pack.opt_outs if rule.across)

    @cached_property
    def phrases(self) -> frozenset[str]:
        """Opt-out words honoured anywhere in a reply, not only at its start."""
        return frozenset(word for pack in self.packs for word in pack.opt_out_phrases)

    @cached_property
    def text_phrases(self) -> frozenset[str]:
        """Words in a reply that stop texts to every number (RF-17)."""
        return frozenset(word for pack in self.packs for word in pack.opt_out_text_phrases)

    @cached_property
    def call_phrases(self) -> frozenset[str]:
        """Words in a reply that stop calls to every number (RF-17)."""
        return frozenset(word for pack in self.packs for word in pack.opt_out_call_phrases)

    def packs_for(self, jurisdictions: tuple[str, ...]) -> tuple[schema.Pack, ...]:
        """Packs that apply to a person: the baseline ("*"), Parley's own hours ("elsewhere":
        their windows give way, channel by channel, to any other pack's, see ``_plan``), and
        every pack of a matching jurisdiction."""
        return tuple(p for p in self.packs if p.jurisdiction in ("*", ELSEWHERE, *jurisdictions))


def load_policy(ref: str) -> Policy:
    """Load a built-in policy ("default" = every shipped pack, or one pack name) or a policy file.

    A policy file is YAML: ``policy`` (a name), ``packs`` (built-in names or paths relative to the
    file) and optional ``overrides`` (``{rule: RF-1, max: 6}``). The baseline pack (P1, P6) and
    the elsewhere pack (Parley's hours where no other pack applies) are always included. Raises PolicyError with one ``file:line: field: problem`` line.
    """
    if ref == "default":
        return _build("default", [(name, None) for name in _loader.BUILTIN_PACKS], (), "", {})
    if ref in _loader.BUILTIN_PACKS:
        names = dict.fromkeys([*_loader.ALWAYS, ref])
        return _build(ref, [(name, None) for name in names], (), "", {})
    path = FsPath(ref)
    if not path.is_file():
        known = ", ".join(("default", *_loader.BUILTIN_PACKS))
        raise PolicyError(ref, None, "ref", f"not a built-in policy ({known}) nor a file")
    text = _loader.read_text(path, ref)
    data, lines = load_located(text, ref)
    if not isinstance(data, dict):
        raise PolicyError(ref, 1, "", "a policy file must be a mapping")
    spec = _loader.validate(schema.PolicyFile, data, lines, ref)
    sources: list[tuple[str, FsPath | None]] = [(name, None) for name in _loader.ALWAYS]
    for index, item in enumerate(spec.packs):
        if item in _loader.BUILTIN_PACKS:
            sources.append((item, None))
        elif item.endswith((".yaml", ".yml")) or "/" in item:
            sources.append((item, (path.parent / item)))
        else:
            known = ", ".join(_loader.BUILTIN_PACKS)
            where = line_of(lines, ("packs", index))
            raise PolicyError(
                ref, where, f"packs.{index}", f"unknown pack '{item}' (built-in: {known})"
            )
    unique = list(dict.fromkeys(sources))  # naming baseline or elsewhere again is harmless
    return _build(spec.policy, unique, spec.overrides, ref, lines)


def _build(
    name: str,
    sources: list[tuple[str, FsPath | None]],
    overrides: tuple[schema.Override, ...],
    policy_file: str,
    policy_lines: dict[Path, int],
) -> Policy:
    kinds = _counting()
    zones = _zones()
    raw: list[tuple[str, dict[str, Any], dict[Path, int]]] = []
    for label, path in sources:
        file = str(path) if path is not None else f"{label}.yaml"
        target = path if path is not None else _loader.PACKS_DIR / f"{label}.yaml"
        data, lines = _loader.load_pack(_loader.read_text(target, file), file)
        raw.append((file, data, lines))
    blame = _Blame(policy_file, policy_lines)
    for index, override in enumerate(overrides):
        where = line_of(policy_lines, ("overrides", index))
        for source, entry in _apply(override, raw, policy_file, where):
            blame.touched[source, entry] = index
    packs: list[schema.Pack] = []
    names: dict[str, str] = {}
    for source, (file, data, lines) in enumerate(raw):
        try:
            pack = _loader.validate(schema.Pack, data, lines, file)
            _loader.check_pack(pack, lines, file, kinds.kinds)
        except PolicyError as exc:
            raise blame(exc, source) from None
        if pack.pack in names:
            where = line_of(lines, ("pack",))
            problem = f"pack '{pack.pack}' is combined twice (also {names[pack.pack]})"
            raise PolicyError(file, where, "pack", problem)
        names[pack.pack] = file
        packs.append(pack)
    _check_combined(packs, raw, blame)
    canonical = {
        "packs": [p.model_dump(mode="json") for p in packs],
        "kinds": kinds.model_dump(mode="json"),
        "zones": zones.model_dump(mode="json"),
    }
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    version = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    return Policy(name=name, version=version, packs=tuple(packs), kinds=kinds.kinds, zones=zones)


def _apply(
    override: schema.Override,
    raw: list[tuple[str, dict[str, Any], dict[Path, int]]],
    file: str,
    line: int | None,
) -> list[tuple[int, Path]]:
    """Apply one override in place; return (source index, path) of every entry it changed."""
    changes = override.model_dump(exclude={"rule", "pack"}, exclude_none=True)
    found: list[tuple[int, Path, str, dict[str, Any]]] = []
    for source, (_, data, _lines) in enumerate(raw):
        if override.pack is not None and data.get("pack") != override.pack:
            continue
        for section in _OVERRIDABLE:
            entries = data.get(section)
            items: list[tuple[Path, Any]] = (
                [((section,), entries)]
                if isinstance(entries, dict)
                else [((section, i), entry) for i, entry in enumerate(entries or [])]
            )
            for path, entry in items:
                key = entry.get("id")
                if entry.get("variant"):
                    key = f"{key}/{entry['variant']}"
                if override.rule in (key, entry.get("id")):
                    found.append((source, path, section, entry))
    if not found:
        raise PolicyError(file, line, "overrides.rule", f"unknown rule id '{override.rule}'")
    # One id can name rules of several kinds (CN-2 is a window and a counter): each field goes
    # to the rules that have it, and only a field none of them has is a mistake.
    sections = sorted({section for _, _, section, _ in found})
    for name in sorted(changes):
        if not any(name in _OVERRIDABLE[section] for section in sections):
            where = " or ".join(sections)
            problem = f"rule '{override.rule}' in {where} has no overridable '{name}'"
            raise PolicyError(file, line, "overrides", problem)
    touched: list[tuple[int, Path]] = []
    for source, path, section, entry in found:
        mine = {name: value for name, value in changes.items() if name in _OVERRIDABLE[section]}
        if mine:
            entry.update(mine)
            touched.append((source, path))
    return touched


@dataclass
class _Blame:
    """Errors in a rule an override changed belong to the override: the user's file and line,
    not the built-in pack's, which is fine as shipped."""

    file: str
    lines: dict[Path, int]
    touched: dict[tuple[int, Path], int] = field(default_factory=dict)  # -> override index

    def __call__(self, error: PolicyError, source: int, entry: Path | None = None) -> PolicyError:
        """``error`` from pack ``source``, moved to the override of ``entry`` (default: the rule
        its field names) if one changed it."""
        if entry is None:
            parts = error.field.split(".")
            entry = tuple(int(p) if p.isdigit() else p for p in parts[:2])
        index = self.touched.get((source, entry), self.touched.get((source, entry[:1])))
        if index is None:
            return error
        where = f"{error.file}:{error.line}" if error.line is not None else error.file
        problem = f"{error.problem} (after this override, in {where} {error.field})"
        line = line_of(self.lines, ("overrides", index))
        return PolicyError(self.file, line, f"overrides.{index}", problem)


def _check_combined(
    packs: list[schema.Pack],
    raw: list[tuple[str, dict[str, Any], dict[Path, int]]],
    blame: _Blame,
) -> None:
    """Across packs: counter keys unique, and windows never intersect to nothing (RF-25)."""
    counters: dict[str, str] = {}
    for pack, (file, _, lines) in zip(packs, raw, strict=True):
        for index, counter in enumerate(pack.counters):
            if counter.key in counters and counters[counter.key] != pack.pack:
                where = line_of(lines, ("counters", index))
                problem = f"counter '{counter.key}' is also defined in pack {counters[counter.key]}"
                raise PolicyError(file, where, f"counters.{index}", problem)
            counters[counter.key] = pack.pack
    # Every pack can apply to one person (a location in each jurisdiction), so every window of
    # a channel meets every other at the same zone: an empty intersection means never contact.
    # The "elsewhere" packs' windows apply only where no jurisdiction's pack has one for the
    # channel, so they meet only each other's and those of the packs for everyone ("*").
    groups = (
        [i for i, p in enumerate(packs) if p.jurisdiction != ELSEWHERE],
        [i for i, p in enumerate(packs) if p.jurisdiction in ("*", ELSEWHERE)],
    )
    for channel, group in ((c, g) for c in schema.ALL_TIMED for g in groups):
        allowed = frozenset(range(1440))
        first = ""
        met: list[tuple[int, Path]] = []  # the windows intersected so far
        for source in group:
            pack, (file, _, lines) = packs[source], raw[source]
            for index, window in enumerate(pack.windows):
                if channel not in window.channels:
                    continue
                allowed &= _loader.window_minutes(window)
                met.append((source, ("windows", index)))
                if not allowed:
                    where = line_of(lines, ("windows", index))
                    problem = (
                        f"contradictory window {window.id}: empty intersection with {first}"
                        f" for {channel.value}"
                    )
                    error = PolicyError(file, where, f"windows.{index}", problem)
                    # The last window an override changed emptied it, if any did.
                    changed = [m for m in met if m in blame.touched] or met[-1:]
                    raise blame(error, *changed[-1])
                first = first or f"{window.id} ({pack.pack})"


def _counting() -> schema.Counting:
    file = "counting.yaml"
    data, lines = load_located(_loader.read_text(_loader.PACKS_DIR / file, file), file)
    counting = _loader.validate(schema.Counting, data, lines, file)
    _loader.check_kinds(counting, lines, file)
    return counting


def _zones() -> schema.ZonesData:
    file = "zones.yaml"
    data, lines = load_located(_loader.read_text(_loader.PACKS_DIR / file, file), file)
    zones = _loader.validate(schema.ZonesData, data, lines, file)
    return zones.model_copy(update={"tzdata_countries": tzdata_countries()})
