"""Who a webhook is about: party id -> borrower id, and phone number -> (borrower, party)s.

The gateway needs the borrower id because every outcome topic is keyed by it. Numbers are only
looked up, never logged (P7).

A directory may be a projection that is still being rebuilt (the upstream topic replayed after a
restart). Until :meth:`Directory.ready` is True, "unknown" only means "not read yet", so the
gateway asks the vendor to retry instead of acknowledging a webhook it cannot route (P3, P6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

__all__ = ["Directory", "InMemoryDirectory"]


class Directory(Protocol):
    def ready(self) -> bool:
        """True once everything the directory must know at start has been read: from then on a
        party or number it does not know is genuinely unknown, not merely not replayed yet."""
        ...

    def borrower_for_party(self, party_id: str) -> str | None:
        """The borrower whose debt ``party_id`` is linked to, or None if unknown."""
        ...

    def parties_for_number(self, number: str) -> tuple[tuple[str, str], ...]:
        """Every (borrower_id, party_id) that uses the E.164 ``number``."""
        ...


class InMemoryDirectory:
    """A :class:`Directory` filled by hand (tests, demo). Ready at once unless built with
    ``ready=False``; then :meth:`mark_ready` says the filling is complete."""

    def __init__(self, *, ready: bool = True) -> None:
        self._borrower_by_party: dict[str, str] = {}
        self._by_number: defaultdict[str, dict[tuple[str, str], None]] = defaultdict(dict)
        self._ready = ready

    def add(self, borrower_id: str, party_id: str, numbers: Iterable[str] = ()) -> None:
        self._borrower_by_party[party_id] = borrower_id
        for number in numbers:
            self._by_number[number][(borrower_id, party_id)] = None  # ordered set

    def ready(self) -> bool:
        return self._ready

    def mark_ready(self) -> None:
        self._ready = True

    def borrower_for_party(self, party_id: str) -> str | None:
        return self._borrower_by_party.get(party_id)

    def parties_for_number(self, number: str) -> tuple[tuple[str, str], ...]:
        return tuple(self._by_number.get(number, {}))
