"""The policies topic as the audit reads it: a record that does not read back, or does not hash
to its version, is reported, and the audit goes on with the rest (it used to end it)."""

from __future__ import annotations

import json

from services.audit.shards import read_policies
from services.compliance.core import load_policy
from services.compliance.core.registry import policy_document


def test_a_bad_policy_record_is_reported_and_the_good_ones_still_read() -> None:
    policy = load_policy("default")
    good = json.dumps(policy_document(policy)).encode()
    tampered = json.loads(good)
    tampered["packs"][0]["opt_out_keywords"] = ["STOP"]  # UNSUBSCRIBE no longer honoured

    policies, unreadable = read_policies(
        [
            ("partition 0 offset 0", b"{not json"),
            ("partition 0 offset 1", good),
            ("partition 1 offset 0", json.dumps(tampered).encode()),
            ("partition 1 offset 1", b"[1, 2]"),
            ("partition 2 offset 0", None),
        ]
    )

    assert list(policies) == [policy.version]
    assert [where for where, _ in unreadable] == [
        "partition 0 offset 0",
        "partition 1 offset 0",
        "partition 1 offset 1",
        "partition 2 offset 0",
    ]
    assert "content hashes to" in unreadable[1][1]
