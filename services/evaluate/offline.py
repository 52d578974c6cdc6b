"""`parley evaluate`: run the live orchestrator's code over an events file, offline and
deterministically, and answer every contact request with its decision.

Input: JSON lines, one envelope per line (docs/evaluate.md). The short form needs only
``type``, ``borrower_id``, ``occurred_at`` and ``payload``; the rest is filled in. Lines must be
in time order (``occurred_at`` never goes back). Before each line, timers due by its time fire,
as they would live.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts import MESSAGE_TYPES, OUTCOME_TYPES, RequestContact
from events.envelope import derive_id
from events.records import Record
from events.serialization import Undecodable, decode
from events.topics import Topics
from services.orchestrator.core.decide import Context
from services.orchestrator.engine import Emitted, Orchestrator

PARTITIONS = 1  # offline: one partition holds everyone; routing plays no part in decisions


class EventsFileError(ValueError):
    """A line that cannot be evaluated; str() is one line: file:line: problem."""


@dataclass(frozen=True)
class Evaluated:
    decisions: list[dict[str, Any]]
    requests: int
    lines: int


def _complete(raw: dict[str, Any], line: int) -> dict[str, Any]:
    """Fill the envelope fields the short form leaves out."""
    type_ = raw.get("type")
    cls = MESSAGE_TYPES.get(type_) if isinstance(type_, str) else None
    out = dict(raw)
    out.setdefault("schema_version", cls.VERSION if cls else 1)
    out.setdefault("recorded_at", raw.get("occurred_at"))
    out.setdefault("producer", "evaluate")
    out.setdefault("event_id", derive_id("evaluate", str(line), json.dumps(raw, sort_keys=True)))
    return out


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Everything before the bad byte decoded, so its lines are counted as reading them would.
        before = data[: exc.start].decode("utf-8")
        n = len(io.StringIO(before + "|", newline=None).readlines())
        raise EventsFileError(f"{path}:{n}: not UTF-8 text (byte {data[exc.start]:#04x})") from None


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # newline=None: the universal newlines of a file opened as text, so line numbers match.
    with io.StringIO(_text(path), newline=None) as f:
        for n, text in enumerate(f, start=1):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise EventsFileError(
                    f"{path}:{n}: not JSON ({exc.msg} at column {exc.colno})"
                ) from None
            except RecursionError:
                raise EventsFileError(f"{path}:{n}: not JSON (nested too deeply)") from None
            except ValueError as exc:  # e.g. an integer of more digits than Python converts
                raise EventsFileError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(raw, dict):
                raise EventsFileError(f"{path}:{n}: a line must be a JSON object (an envelope)")
            yield n, _complete(raw, n)


def evaluate_file(
    path: Path, ctx: Context, strategy_version: str, *, all_decisions: bool = False
) -> Evaluated:
    topics = Topics("evaluate")
    engine = Orchestrator(
        topics, PARTITIONS, ctx, strategy_version=strategy_version, max_record_bytes=1 << 20
    )
    engine.assign(0)
    offsets: Counter[str] = Counter()
    decisions: list[dict[str, Any]] = []
    requests = lines = 0
    outcome_types = {m.TYPE for m in OUTCOME_TYPES}
    latest: tuple[datetime, int] | None = None  # the clock so far, and the line that set it
    for n, raw in _lines(path):
        lines += 1
        if not raw.get("borrower_id"):
            # Live, the borrower id is the record's key; here it comes from the line.
            raise EventsFileError(
                f"{path}:{n}: borrower_id: missing; every line names its borrower"
            )
        value = json.dumps(raw).encode()
        key = str(raw["borrower_id"]).encode()
        try:
            decoded = decode(value, key, max_bytes=1 << 20)
        except Undecodable as exc:
            raise EventsFileError(f"{path}:{n}: {exc.reason.value}: {exc.detail}") from None
        occurred_at = decoded.envelope.occurred_at
        if latest is not None and occurred_at < latest[0]:
            raise EventsFileError(_out_of_order(path, n, occurred_at, *latest))
        if latest is None or occurred_at > latest[0]:
            latest = (occurred_at, n)
        topic = topics.outcomes if decoded.envelope.type in outcome_types else topics.upstream
        fired = engine.tick(0, occurred_at)
        record = Record(topic, 0, offsets[topic], key, value)
        offsets[topic] += 1
        out = engine.process(record)
        if out.deadletters:
            reason = json.loads(out.deadletters[0].value)
            raise EventsFileError(f"{path}:{n}: {reason['reason']}: {reason['detail']}")
        request = decoded.message if isinstance(decoded.message, RequestContact) else None
        requests += request is not None
        found = len(decisions)
        for emitted in (fired, out) if all_decisions else (out,):
            decisions.extend(_decisions(emitted, n, only_requests=not all_decisions))
        if request is not None and len(decisions) == found:
            # Every request gets one answer; the engine answers none only to a redelivery.
            raise EventsFileError(
                f"{path}:{n}: request_id: {request.request_id!r} repeats an earlier"
                " request's; a repeated request_id is a redelivery, which is not answered again"
            )
    return Evaluated(decisions, requests, lines)


def _out_of_order(path: Path, n: int, at: datetime, clock: datetime, line: int) -> str:
    # The orchestrator's clock never goes back: live, an earlier time after a later one on the
    # same partition is decided at the later time. Offline every borrower shares one partition,
    # so such a line would be decided at a time it does not show; refuse it instead.
    return (
        f"{path}:{n}: occurred_at: {at.isoformat()} is before line {line}'s"
        f" {clock.isoformat()}; lines must be in time order, as the"
        " orchestrator's clock never goes back"
    )


def _decisions(out: Emitted, line: int, *, only_requests: bool) -> Iterator[dict[str, Any]]:
    for entry in out.ledger:
        for raw in json.loads(entry.value)["derived"]:
            payload = raw["payload"]
            if raw["type"] == "contact.intent_dropped" and payload.get("request_id"):
                # A request with nothing approved to send (RF-13, RF-11) is answered too.
                yield {
                    "line": line,
                    "request_id": payload["request_id"],
                    "attempt_id": payload["attempt_id"],
                    "verdict": "declined",
                    "reasons": [payload["reason"]],
                    "origin": "request",
                }
                continue
            if raw["type"] != "contact.decided":
                continue
            if only_requests and payload.get("origin") != "request":
                continue
            yield {"line": line, **payload}
