"""Both Twilio signature implementations (gateway verifier, simulator signer) match Twilio's
published vectors, so neither can be consistently wrong with the other."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.channels.simulator.vendor_logic import sign
from services.gateway.signing import compute_signature, verify_signature

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
REPEATED = [
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "1234"),
]


@pytest.mark.parametrize("signer", [compute_signature, sign])
def test_signers_reproduce_twilios_published_vectors(
    signer: Callable[[str, list[tuple[str, str]], str], str],
) -> None:
    """Twilio's documented example and its repeated-parameter example."""
    assert signer(URL, PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signer(URL, REPEATED, "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_verify_rejects_missing_wrong_or_tampered_signatures() -> None:
    """Only the exact signature for this URL, these params and this token passes."""
    good = compute_signature(URL, PARAMS, "12345")

    assert verify_signature(URL, PARAMS, "12345", good)
    assert not verify_signature(URL, PARAMS, "12345", None)
    assert not verify_signature(URL, PARAMS, "12345", "")
    assert not verify_signature(URL, PARAMS, "other", good)
    assert not verify_signature(URL + "&x=1", PARAMS, "12345", good)
    assert not verify_signature(URL, [*PARAMS[:-1], ("To", "+1999")], "12345", good)
    assert not verify_signature(URL, PARAMS, "12345", "invalid 王")
