"""Upcasters: old payload versions are rewritten to the current one on read (never edited in place).

Register a step as ``UPCASTERS[(type, n)] = upcast_vn_vn1``. A record whose version has no path to
the current class version is dead-lettered as ``unknown_schema_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def upcast_borrower_profiled_v0_v1(state: Payload) -> Payload:
    """Example of the mechanism; v0 (pre-release) had a single ``phone`` string."""
    state = dict(state)
    phone = state.pop("phone", None)
    state["phones"] = [{"number": phone, "type": "mobile"}] if phone else []
    return state


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("borrower.profiled", 0): upcast_borrower_profiled_v0_v1,
}


class NoUpcastPath(Exception):
    pass


def upcast(type_: str, version: int, target: int, payload: Payload) -> Payload:
    if version > target:
        raise NoUpcastPath(f"version {version} is newer than this build understands ({target})")
    while version < target:
        step = UPCASTERS.get((type_, version))
        if step is None:
            raise NoUpcastPath(f"no upcaster from version {version} of {type_}")
        payload = step(payload)
        version += 1
    return payload
