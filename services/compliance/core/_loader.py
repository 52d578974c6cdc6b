"""Reading and validating pack, counting and zones files; every failure is a one-line PolicyError."""

from __future__ import annotations

import difflib
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.outcomes import OutcomeKind
from services.compliance.core import schema
from services.compliance.core._yaml import Path, line_of, load_located
from services.compliance.core.errors import PolicyError

PACKS_DIR = FsPath(__file__).resolve().parent.parent / "packs"
BUILTIN_PACKS: tuple[str, ...] = (
    "baseline",
    "elsewhere",
    "us-federal",
    "us-ma",
    "us-nyc",
    "us-wa",
    "cn",
    "uk",
)
# Part of every policy: Parley's own promises, and its hours where no other pack applies.
ALWAYS: tuple[str, ...] = ("baseline", "elsewhere")
OUTCOME_TOKENS = frozenset({kind.value for kind in OutcomeKind} | {"pending"})

M = TypeVar("M", bound=BaseModel)


def _all_field_names() -> frozenset[str]:
    names: set[str] = set()
    for obj in vars(schema).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names.update(obj.model_fields)
    return frozenset(names)


_FIELDS = _all_field_names()


def read_text(file: FsPath, shown: str) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(shown, None, "", f"cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(
            shown, None, "", f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start]:#04x})"
        ) from None


def validate(model: type[M], data: Any, lines: dict[Path, int], file: str) -> M:
    """Validate ``data`` against ``model``; the first problem becomes a located PolicyError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A typo shows up twice (unknown field + required field missing); the typo says more.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc: Path = tuple(err["loc"])
        field = ".".join(str(part) for part in loc)
        problem = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            name = str(loc[-1])
            # A field of another kind of rule is no typo: "did you mean" itself would mislead.
            close = [] if name in _FIELDS else difflib.get_close_matches(name, _FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problem = f"unknown field '{name}'{hint}"
        elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "id":
            problem = f"bad rule id {err['input']!r}: expected a source id like RF-1 or MA-7.04"
        elif err["type"] == "string_pattern_mismatch":
            problem = f"bad value {err['input']!r}: {problem}"
        raise PolicyError(file, line_of(lines, loc), field, problem) from None


def load_pack(text: str, file: str) -> tuple[dict[str, Any], dict[Path, int]]:
    data, lines = load_located(text, file)
    if not isinstance(data, dict):
        raise PolicyError(file, 1, "", "a pack must be a mapping")
    validate(schema.Pack, data, lines, file)  # fail on typos before any override touches it
    return data, lines


def check_pack(
    pack: schema.Pack, lines: dict[Path, int], file: str, kinds: dict[str, schema.Kind]
) -> None:
    """Semantic checks the field types cannot express."""
    seen: dict[str, int] = {}
    for index, counter in enumerate(pack.counters):
        where = line_of(lines, ("counters", index))
        if counter.counts not in kinds:
            raise PolicyError(
                file,
                where,
                f"counters.{index}.counts",
                _unknown("counter kind", counter.counts, kinds),
            )
        if counter.key in seen:
            raise PolicyError(
                file, where, f"counters.{index}", f"duplicate counter '{counter.key}'"
            )
        if counter.max < 1:
            where = line_of(lines, ("counters", index, "max"))
            raise PolicyError(file, where, f"counters.{index}.max", schema.CAP_TOO_LOW)
        seen[counter.key] = index
    for index, cooldown in enumerate(pack.cooldowns):
        if cooldown.after not in kinds:
            where = line_of(lines, ("cooldowns", index, "after"))
            problem = _unknown("counter kind", cooldown.after, kinds)
            raise PolicyError(file, where, f"cooldowns.{index}.after", problem)
    confirmation = pack.confirmation
    if confirmation is not None and not confirmation.channels:
        where = line_of(lines, ("confirmation",))
        problem = "a confirmation must name its channels (TC-4 allows one text: [sms])"
        raise PolicyError(file, where, "confirmation.channels", problem)
    for index, window in enumerate(pack.windows):
        start, end = schema.parse_hhmm(window.start), schema.parse_hhmm(window.end)
        if start == end or (start > end and not window.wraps):
            where = line_of(lines, ("windows", index, "start"))
            problem = (
                f"contradictory window {window.id}: start {window.start} >= end {window.end}"
                " (set wraps: true for a window that spans midnight)"
            )
            raise PolicyError(file, where, f"windows.{index}", problem)


def check_kinds(counting: schema.Counting, lines: dict[Path, int], file: str) -> None:
    for name, kind in counting.kinds.items():
        for field in ("outcomes", "exclude_outcomes"):
            for index, token in enumerate(getattr(kind, field) or ()):
                if token not in OUTCOME_TOKENS:
                    where = line_of(lines, ("kinds", name, field, index))
                    problem = _unknown("outcome", token, dict.fromkeys(OUTCOME_TOKENS))
                    raise PolicyError(file, where, f"kinds.{name}.{field}", problem)


def _unknown(what: str, value: str, known: dict[str, Any]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(known))})"
    return f"unknown {what} '{value}'{hint}"


def window_minutes(window: schema.WindowRule) -> frozenset[int]:
    """The minutes of the day inside a window, for the load-time empty-intersection check."""
    start = schema.parse_hhmm(window.start)
    end = schema.parse_hhmm(window.end)
    lo = start.hour * 60 + start.minute
    hi = (
        1440
        if end.hour == 23 and end.minute == 59 and end.second == 59
        else end.hour * 60 + end.minute
    )
    if lo < hi:
        return frozenset(range(lo, hi))
    return frozenset(range(lo, 1440)) | frozenset(range(hi))
