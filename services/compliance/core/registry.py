"""Policies as documents: what the orchestrator records so an auditor can re-run any decision
under the exact policy version it was made with, years later (P4, P5).

The document is the canonical data the version hashes; loading one re-checks the hash, so a
document that does not match its version is refused rather than silently used.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.compliance.core import schema
from services.compliance.core.errors import PolicyError
from services.compliance.core.policy import Policy


def _canonical(packs: list[dict[str, Any]], kinds: dict[str, Any], zones: dict[str, Any]) -> str:
    return json.dumps(
        {"packs": packs, "kinds": kinds, "zones": zones},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def policy_document(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "version": policy.version,
        "packs": [p.model_dump(mode="json") for p in policy.packs],
        "kinds": schema.Counting(kinds=policy.kinds).model_dump(mode="json"),
        "zones": policy.zones.model_dump(mode="json"),
    }


def policy_from_document(doc: dict[str, Any]) -> Policy:
    version = str(doc.get("version", ""))
    try:
        packs = tuple(schema.Pack.model_validate(p) for p in doc["packs"])
        counting = schema.Counting.model_validate(doc["kinds"])
        zones = schema.ZonesData.model_validate(doc["zones"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(
            f"policy document {version}", None, "document", f"invalid: {exc}"
        ) from None
    blob = _canonical(
        [p.model_dump(mode="json") for p in packs],
        counting.model_dump(mode="json"),
        zones.model_dump(mode="json"),
    )
    actual = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    if actual != version:
        raise PolicyError(
            f"policy document {version}", None, "version", f"content hashes to {actual}"
        )
    return Policy(
        name=str(doc.get("name", version)),
        version=version,
        packs=packs,
        kinds=counting.kinds,
        zones=zones,
    )
