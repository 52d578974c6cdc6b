"""Twilio's request signature (``X-Twilio-Signature``): HMAC-SHA1, keyed by the auth token,
over the full URL followed by every distinct POST parameter as name+value, sorted, base64."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["compute_signature", "verify_signature"]


def compute_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    # Twilio sorts by name, then a repeated name's values, and drops exact duplicate pairs.
    payload = url + "".join(f"{name}{value}" for name, value in sorted(set(params)))
    mac = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_signature(
    url: str, params: Iterable[tuple[str, str]], auth_token: str, signature: str | None
) -> bool:
    """True only for a present signature that matches; compared in constant time."""
    if not signature or not auth_token:
        return False
    expected = compute_signature(url, params, auth_token)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))
