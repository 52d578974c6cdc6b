"""The simulator's own books: what it accepted, per route, idempotency token and number hash."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.channels.simulator.config import Route
from services.channels.simulator.vendor_logic import digest


@dataclass(frozen=True, slots=True)
class Resource:
    """One accepted message or call. Holds raw numbers in memory only; never logged."""

    route: Route
    sid: str
    to: str
    from_: str
    token: str
    status_callback: str
    content: str
    created_at: str

    def as_json(self, account_sid: str) -> dict[str, Any]:
        kind = "Messages" if self.route == "messages" else "Calls"
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "to": self.to,
            "from": self.from_,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": self.created_at,
            "uri": f"/2010-04-01/Accounts/{account_sid}/{kind}/{self.sid}.json",
        }


@dataclass
class _RouteBook:
    requests: int = 0
    accepted: int = 0
    replayed: int = 0
    refused_opted_out: int = 0  # texts refused with 21610: the person had texted STOP
    by_token: Counter[str] = field(default_factory=Counter)
    by_to_hash: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "replayed": self.replayed,
            "refused_opted_out": self.refused_opted_out,
            "by_token": dict(self.by_token),
            "by_to_hash": dict(self.by_to_hash),
        }


def to_hash(number: str) -> str:
    """How stats name a number: a short hash, so stats and logs never carry it raw (P7)."""
    return digest("to", number, length=12)


class Ledger:
    """Counts and resources. ``by_token`` counts *created* resources, so a value above 1 means a
    retry reached the vendor as a second message: exactly what P2 forbids."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._books: dict[Route, _RouteBook] = {"messages": _RouteBook(), "calls": _RouteBook()}
        self._by_token: dict[tuple[Route, str], Resource] = {}
        self.resources: list[Resource] = []
        self.callbacks_sent = 0
        self.inbound_sent = 0
        # (person's number, our number) pairs the person opted out of with a keyword.
        self.opted_out: set[tuple[str, str]] = set()

    def keyword(self, person: str, ours: str, opted_out: bool) -> None:
        """A keyword text from ``person`` to ``ours``: blocks that pair, or lifts the block."""
        if opted_out:
            self.opted_out.add((person, ours))
        else:
            self.opted_out.discard((person, ours))

    def refuses(self, to: str, from_: str) -> bool:
        """Whether a text to ``to`` from ``from_`` is refused: the person opted out of it."""
        if (to, from_) in self.opted_out:
            self._books["messages"].refused_opted_out += 1
            return True
        return False

    def saw_request(self, route: Route) -> None:
        self._books[route].requests += 1

    def existing(self, route: Route, token: str) -> Resource | None:
        found = self._by_token.get((route, token)) if token else None
        if found is not None:
            self._books[route].replayed += 1
        return found

    def accept(self, resource: Resource) -> None:
        book = self._books[resource.route]
        book.accepted += 1
        book.by_to_hash[to_hash(resource.to)] += 1
        if resource.token:
            book.by_token[resource.token] += 1
            self._by_token[(resource.route, resource.token)] = resource
        self.resources.append(resource)

    def stats(self) -> dict[str, Any]:
        return {
            "messages": self._books["messages"].as_json(),
            "calls": self._books["calls"].as_json(),
            "callbacks_sent": self.callbacks_sent,
            "inbound_sent": self.inbound_sent,
        }
