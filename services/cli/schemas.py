"""JSON Schema export of the published language (what integrators code against)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts import MESSAGE_TYPES
from events.deadletter import DeadLetter
from events.envelope import Envelope

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def all_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for type_name, cls in sorted(MESSAGE_TYPES.items()):
        schema = cls.model_json_schema()
        schema["$id"] = f"parley:{type_name}:v{cls.VERSION}"
        schema["x-parley-type"] = type_name
        schema["x-parley-schema-version"] = cls.VERSION
        out[f"{type_name}.v{cls.VERSION}.json"] = schema
    out["envelope.json"] = Envelope.model_json_schema()
    out["deadletter.json"] = DeadLetter.model_json_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    wanted = all_schemas()
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, schema in wanted.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
