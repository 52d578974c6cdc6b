"""Who a webhook is about: debt -> borrower, party -> borrowers, and phone number ->
(borrower, party)s.

The gateway needs the borrower id because every outcome topic is keyed by it. A party id alone
does not always name one: a person can be a party on several borrowers' debts (a guarantor of
two loans, a borrower who guarantees someone else's). A debt does, since a debt has exactly one
borrower; so the directory keeps debt -> borrower, and receipts that name the debt are routed by
it alone. Numbers are only looked up, never logged (P7).

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
        """True once everything the directory must know has been read: from then on a party or
        number it does not know is genuinely unknown, not merely not replayed yet."""
        ...

    def borrower_for_loan(self, loan_id: str) -> str | None:
        """The one borrower whose debt ``loan_id`` is, or None if no record naming it has been
        read. A debt has exactly one borrower: once known, it never changes."""
        ...

    def borrowers_for_party(self, party_id: str) -> tuple[str, ...]:
        """Every borrower ``party_id`` is a party of, in the order they were learned."""
        ...

    def parties_for_number(self, number: str) -> tuple[tuple[str, str], ...]:
        """Every (borrower_id, party_id) that uses the E.164 ``number``."""
        ...

    def has_debt(self, borrower_id: str) -> bool:
        """Whether a debt of ``borrower_id`` has been read (the one an opt-out is confirmed
        about: a borrower profiled before any loan cannot confirm one)."""
        ...


class InMemoryDirectory:
    """A :class:`Directory` filled by hand (tests, demo). Ready at once unless built with
    ``ready=False``; then :meth:`mark_ready` says the filling is complete."""

    def __init__(self, *, ready: bool = True) -> None:
        self._borrower_by_loan: dict[str, str] = {}
        self._by_party: defaultdict[str, dict[str, None]] = defaultdict(dict)  # ordered sets
        self._by_number: defaultdict[str, dict[tuple[str, str], None]] = defaultdict(dict)
        self._with_debt: set[str] = set()
        self._ready = ready

    def add(
        self,
        borrower_id: str,
        party_id: str,
        numbers: Iterable[str] = (),
        loans: Iterable[str] = (),
    ) -> None:
        """``party_id`` is a party of ``borrower_id``, on the debts ``loans`` (each of them
        ``borrower_id``'s), using ``numbers``.

        A debt already recorded under another borrower keeps the borrower recorded first:
        upstream loan ids are unique, so a second borrower is a contradiction in the data, and
        moving the debt would not recall receipts already routed by it. A follower reads
        partitions independently, so "first" may differ between replays; it reports such a
        record instead (:meth:`loan_owned_elsewhere`)."""
        self._by_party[party_id][borrower_id] = None
        for loan_id in loans:
            if self._borrower_by_loan.setdefault(loan_id, borrower_id) == borrower_id:
                self._with_debt.add(borrower_id)
        for number in numbers:
            self._by_number[number][(borrower_id, party_id)] = None

    def ready(self) -> bool:
        return self._ready

    def mark_ready(self) -> None:
        self._ready = True

    def mark_catching_up(self) -> None:
        """Not ready again: something may have been missed until the filling catches up."""
        self._ready = False

    def borrower_for_loan(self, loan_id: str) -> str | None:
        return self._borrower_by_loan.get(loan_id)

    def loan_owned_elsewhere(self, loan_id: str, borrower_id: str) -> bool:
        """True if ``loan_id`` is already recorded as the debt of a borrower other than
        ``borrower_id`` (a record that contradicts "a debt has one borrower")."""
        known = self._borrower_by_loan.get(loan_id)
        return known is not None and known != borrower_id

    def borrowers_for_party(self, party_id: str) -> tuple[str, ...]:
        return tuple(self._by_party.get(party_id, {}))

    def borrower_for_party(self, party_id: str) -> str | None:
        """The borrower ``party_id`` was last linked to. Ambiguous for a party of several
        borrowers, so the gateway never routes by it; tests use it to see a party was read."""
        borrowers = self.borrowers_for_party(party_id)
        return borrowers[-1] if borrowers else None

    def parties_for_number(self, number: str) -> tuple[tuple[str, str], ...]:
        return tuple(self._by_number.get(number, {}))

    def has_debt(self, borrower_id: str) -> bool:
        return borrower_id in self._with_debt
