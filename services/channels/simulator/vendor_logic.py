"""What the simulated vendor decides and how it signs: pure functions, no I/O.

The signing here is written independently of ``services.gateway.signing`` on purpose: the
simulator plays the vendor, and a shared implementation would hide a symmetric bug. Both are
pinned to Twilio's published test vector in the unit tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TypeVar

from services.channels.simulator.config import Disposition, SimConfig

K = TypeVar("K", bound=str)

# Disposition -> (CallStatus, AnsweredBy); AnsweredBy is only reported for answered calls.
_CALL_STATUS: dict[str, tuple[str, str | None]] = {
    "conversation_right_party": ("completed", "human"),
    "conversation_wrong_party": ("completed", "human"),
    "voicemail_left": ("completed", "machine_end_beep"),
    "no_answer": ("no-answer", None),
    "busy": ("busy", None),
    "not_connected": ("failed", None),
}


# Twilio's default keywords, matched as the whole text, any case (its "single word" rule).
_OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
_OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})


def opts_out(body: str) -> bool | None:
    """Whether an inbound text opts its sender out (True), back in (False), or neither (None)."""
    word = body.strip().upper()
    if word in _OPT_OUT_KEYWORDS:
        return True
    if word in _OPT_IN_KEYWORDS:
        return False
    return None


def sign(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over URL + distinct name/value pairs, sorted."""
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def digest(*parts: str, length: int = 32) -> str:
    """A stable hex digest of ``parts`` (sids, number hashes for stats; never raw numbers)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def pick(weights: Mapping[K, int], *key: str) -> K:
    """Choose a weighted option deterministically from ``key``: same inputs, same choice."""
    options = sorted((name, weight) for name, weight in weights.items() if weight > 0)
    if not options:
        raise ValueError("at least one weight must be positive")
    point = int(digest(*key, length=16), 16) % sum(weight for _, weight in options)
    for name, weight in options:
        if point < weight:
            return name
        point -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def sms_statuses(config: SimConfig, to: str, token: str) -> list[dict[str, str]]:
    """The MessageStatus callbacks for one message, in the order a healthy vendor sends them."""
    weights = {
        "delivered": config.sms_delivered_weight,
        "undelivered": config.sms_undelivered_weight,
    }
    final = pick(
        weights,
        "sms",
        to,
        token,
    )
    last = {"MessageStatus": final}
    if final == "undelivered":
        last["ErrorCode"] = "30003"  # Twilio: unreachable destination handset
    return [{"MessageStatus": "sent"}, last]


def call_statuses(config: SimConfig, to: str, token: str) -> list[dict[str, str]]:
    """The final call callback, with the simulator's custom ``Disposition`` field."""
    disposition: Disposition = pick(config.disposition_weights, "call", to, token)
    status, answered_by = _CALL_STATUS[disposition]
    fields = {"CallStatus": status, "Disposition": disposition}
    if answered_by:
        fields["AnsweredBy"] = answered_by
        fields["CallDuration"] = "42"
    return [fields]


def arrange(batch: list[dict[str, str]], *, reorder: bool, duplicate: bool) -> list[dict[str, str]]:
    """Apply the configured delivery faults: reversed order and/or every callback sent twice."""
    ordered = list(reversed(batch)) if reorder else list(batch)
    return ordered + ordered if duplicate else ordered
