"""Policy as data: content-hash versions and one-line PolicyErrors naming file, line and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from contracts.decisions import Verdict
from contracts.values import Address, Channel, Email, EmailKind, PartyRole, Purpose
from services.compliance.core import Policy, PolicyError, load_policy
from services.compliance.core.model import PartyFacts
from services.compliance.core.registry import policy_document, policy_from_document
from tests.unit.compliance.gate_builders import ET, MOBILE, decide, grant, rehashed, revoke

PACKS = Path(__file__).resolve().parents[3] / "services" / "compliance" / "packs"

GOOD_PACK = """\
pack: custom
jurisdiction: US
windows:
  - {id: RF-6, start: "09:00", end: "20:00"}
counters:
  - id: RF-1
    counts: placed_call
    per: person_debt
    rolling_days: 7
    max: 5
    gates: [call]
"""


def _write(tmp_path: Path, pack: str, name: str = "custom.yaml") -> Path:
    (tmp_path / name).write_text(pack, encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"policy: test\npacks: [{name}]\n", encoding="utf-8")
    return policy


def _error(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


def test_same_data_gives_the_same_version() -> None:
    """P5: loading the same packs twice pins the same version."""
    assert load_policy("default").version == load_policy("default").version


def test_version_changes_when_a_number_changes(tmp_path: Path) -> None:
    """P4: any number change (RF-1 max 7 -> 6) is a new policy version."""
    base = tmp_path / "base.yaml"
    base.write_text("policy: a\npacks: [us-federal]\n", encoding="utf-8")
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        "policy: b\npacks: [us-federal]\noverrides:\n  - {rule: RF-1, max: 6}\n", encoding="utf-8"
    )

    v1 = load_policy(str(base)).version
    v2 = load_policy(str(changed)).version

    assert v1 == load_policy("us-federal").version
    assert v1 != v2
    assert len(v1) == 16


def test_custom_pack_loads_and_applies(tmp_path: Path) -> None:
    """A policy file combines built-in packs and packs given by relative path."""
    policy = load_policy(str(_write(tmp_path, GOOD_PACK)))

    assert [p.pack for p in policy.packs] == ["baseline", "elsewhere", "custom"]
    assert policy.name == "test"


def test_typo_in_a_field_names_file_line_and_field(tmp_path: Path) -> None:
    """A typo'd field is an error, with a did-you-mean hint."""
    error = _error(_write(tmp_path, GOOD_PACK.replace("    max: 5", "    maxx: 5")))

    assert str(error).startswith(
        f"{tmp_path / 'custom.yaml'}:10: counters.0.maxx: unknown field 'maxx'"
    )
    assert "did you mean 'max'" in str(error)


def test_contradictory_window_is_an_error(tmp_path: Path) -> None:
    """A window whose start is not before its end (without wraps) cannot be satisfied."""
    error = _error(
        _write(
            tmp_path,
            GOOD_PACK.replace('start: "09:00", end: "20:00"', 'start: "21:00", end: "08:00"'),
        )
    )

    assert "custom.yaml:4: windows.0: contradictory window RF-6" in str(error)


def test_windows_that_never_intersect_are_an_error(tmp_path: Path) -> None:
    """Strictest-wins intersects windows; an empty intersection means the policy never allows."""
    pack = GOOD_PACK.replace('start: "09:00", end: "20:00"', 'start: "22:00", end: "23:00"')
    pack = pack[: pack.index("counters:")]
    policy = tmp_path / "policy.yaml"
    (tmp_path / "late.yaml").write_text(pack, encoding="utf-8")
    policy.write_text("policy: x\npacks: [us-federal, late.yaml]\n", encoding="utf-8")

    error = _error(policy)

    assert "late.yaml:4: windows.0: contradictory window RF-6: empty intersection" in str(error)


def test_unknown_pack_name_is_an_error(tmp_path: Path) -> None:
    """A pack that is neither built-in nor a path is named with its line in the policy file."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: x\npacks:\n  - us-federal\n  - us-texas\n", encoding="utf-8")

    error = _error(policy)

    assert str(error).startswith(f"{policy}:4: packs.1: unknown pack 'us-texas'")


def test_bad_rule_id_is_an_error(tmp_path: Path) -> None:
    """Rule ids are source ids (RF-1, MA-7.04); anything else is rejected."""
    error = _error(_write(tmp_path, GOOD_PACK.replace("id: RF-1", "id: rf one")))

    assert "custom.yaml:6: counters.0.id: bad rule id 'rf one'" in str(error)


def test_unquoted_time_explains_the_yaml_trap(tmp_path: Path) -> None:
    """Unquoted 09:00 is a YAML 1.1 number; the error says to quote it."""
    error = _error(_write(tmp_path, GOOD_PACK.replace('end: "20:00"', "end: 20:00")))

    assert "custom.yaml:4: windows.0.end:" in str(error)
    assert "quoted 'HH:MM'" in str(error)


def test_unknown_counter_kind_is_an_error(tmp_path: Path) -> None:
    """Counters name a kind from counting.yaml."""
    error = _error(
        _write(tmp_path, GOOD_PACK.replace("counts: placed_call", "counts: placed_calls"))
    )

    assert "custom.yaml:6: counters.0.counts: unknown counter kind 'placed_calls'" in str(error)


def test_unknown_top_level_field_is_an_error(tmp_path: Path) -> None:
    """Strict at the top level too."""
    error = _error(_write(tmp_path, GOOD_PACK + "windoes: []\n"))

    assert "custom.yaml:12: windoes: unknown field 'windoes'" in str(error)


def test_override_of_an_unknown_rule_is_an_error(tmp_path: Path) -> None:
    """Overrides address existing rules only."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: x\npacks: [us-federal]\noverrides:\n  - {rule: RF-99, max: 1}\n", encoding="utf-8"
    )

    error = _error(policy)

    assert str(error).startswith(f"{policy}:4: overrides.rule: unknown rule id 'RF-99'")


def test_unknown_policy_reference_is_an_error() -> None:
    """A ref that is neither built-in nor a file says what is available."""
    with pytest.raises(PolicyError, match="not a built-in policy"):
        load_policy("no-such-policy")


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    broken = GOOD_PACK.replace("    gates: [call]", "    gates: [call")

    error = _error(_write(tmp_path, broken))

    assert str(error).startswith(f"{tmp_path / 'custom.yaml'}:12: ")
    assert "invalid YAML" in str(error)


def test_a_duplicate_key_names_file_and_line(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, GOOD_PACK + "pack: other\n"))

    assert str(error) == f"{tmp_path / 'custom.yaml'}:12: pack: duplicate key"


def test_a_control_character_names_file_and_line(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, GOOD_PACK.replace("max: 5", "max: 5\x01")))

    assert str(error).startswith(f"{tmp_path / 'custom.yaml'}:10: ")
    assert "invalid YAML" in str(error)


def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    policy = _write(tmp_path, GOOD_PACK)
    (tmp_path / "custom.yaml").write_bytes(GOOD_PACK.encode() + b"# caf\xe9\n")

    error = _error(policy)

    assert str(error).startswith(f"{tmp_path / 'custom.yaml'}: ")
    assert "not UTF-8" in str(error)


def _policy(tmp_path: Path, text: str) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    return policy


def test_an_override_changes_the_rule_kind_that_has_the_field(tmp_path: Path) -> None:
    """CN-2 is both a window and a counter: ``max`` goes to the counter, ``start`` to the window."""
    policy = _policy(
        tmp_path,
        "policy: x\npacks: [cn]\noverrides:\n"
        "  - {rule: CN-2, max: 2}\n"
        '  - {rule: CN-2, start: "09:00"}\n',
    )

    (cn,) = [pack for pack in load_policy(str(policy)).packs if pack.pack == "cn"]

    assert {c.key: c.max for c in cn.counters} == {"CN-2": 2, "CN-3": 3, "CN-4": 6}
    assert [(w.id, w.start, w.end) for w in cn.windows] == [("CN-2", "09:00", "22:00")]


def test_an_override_field_no_rule_of_that_id_has_is_an_error(tmp_path: Path) -> None:
    """Neither CN-2 rule has ``block_days``; the error names both kinds."""
    policy = _policy(
        tmp_path, "policy: x\npacks: [cn]\noverrides:\n  - {rule: CN-2, block_days: 3}\n"
    )

    error = _error(policy)

    assert str(error) == (
        f"{policy}:4: overrides: rule 'CN-2' in counters or windows has no overridable 'block_days'"
    )


def test_a_field_of_another_rule_kind_gets_no_did_you_mean(tmp_path: Path) -> None:
    """``calendar_day`` is a real field, just not an overridable one: no hint naming itself."""
    policy = _policy(
        tmp_path, "policy: x\npacks: [cn]\noverrides:\n  - {rule: CN-2, calendar_day: true}\n"
    )

    error = _error(policy)

    assert str(error) == f"{policy}:4: overrides.0.calendar_day: unknown field 'calendar_day'"


def test_an_override_to_a_cap_of_zero_is_an_error(tmp_path: Path) -> None:
    """A cap of 0 never clears (every contact deferred 'until now'); forbidding is a hold's job."""
    policy = _policy(
        tmp_path, "policy: x\npacks: [us-federal]\noverrides:\n  - {rule: RF-1,\n     max: 0}\n"
    )

    error = _error(policy)

    assert str(error) == (
        f"{policy}:5: overrides.0.max: a counter's max must be at least 1"
        " (to forbid contact, use a hold)"
    )


def test_a_pack_with_a_cap_of_zero_is_an_error(tmp_path: Path) -> None:
    """The same in a pack of one's own, at the line of the ``max``."""
    error = _error(_write(tmp_path, GOOD_PACK.replace("max: 5", "max: 0")))

    assert str(error) == (
        f"{tmp_path / 'custom.yaml'}:10: counters.0.max: a counter's max must be at least 1"
        " (to forbid contact, use a hold)"
    )


def test_a_broken_override_is_reported_at_the_override(tmp_path: Path) -> None:
    """RF-6 overridden to start after it ends: the user's file and line, not us-federal.yaml's."""
    policy = _policy(
        tmp_path,
        "policy: x\npacks: [us-federal]\noverrides:\n"
        "  - {rule: RF-1, max: 3}\n"
        '  - {rule: RF-6, start: "22:00"}\n',
    )

    error = _error(policy)

    assert str(error).startswith(
        f"{policy}:5: overrides.1: contradictory window RF-6: start 22:00 >= end 21:00"
    )
    pack = PACKS / "us-federal.yaml"
    line = next(n for n, text in enumerate(pack.read_text().splitlines(), 1) if "id: RF-6," in text)
    assert str(error).endswith(f"(after this override, in us-federal.yaml:{line} windows.0)")


def test_an_override_that_empties_the_windows_is_reported_at_the_override(
    tmp_path: Path,
) -> None:
    """Overriding the first of two windows so they never meet blames the override, even though
    the intersection empties at the second window, in the user's own pack."""
    (tmp_path / "late.yaml").write_text(
        'pack: late\njurisdiction: US\nwindows:\n  - {id: LT-1, start: "18:00", end: "21:00"}\n',
        encoding="utf-8",
    )
    policy = _policy(
        tmp_path,
        'policy: x\npacks: [us-federal, late.yaml]\noverrides:\n  - {rule: RF-6, end: "10:00"}\n',
    )

    error = _error(policy)

    assert str(error).startswith(f"{policy}:4: overrides.0: contradictory window LT-1:")
    assert str(error).endswith(f"(after this override, in {tmp_path / 'late.yaml'}:4 windows.0)")


def test_a_pack_for_elsewhere_is_checked_against_parleys_own_hours(tmp_path: Path) -> None:
    """Windows for "elsewhere" meet P1-HOURS (and each other) wherever they apply: a night-only
    one would leave those people no hour at all, so it is refused like any contradiction."""
    (tmp_path / "night.yaml").write_text(
        "pack: night\n"
        "title: t\n"
        "jurisdiction: elsewhere\n"
        "windows:\n"
        '  - {id: P1-NIGHT, start: "22:00", end: "06:00", wraps: true, channels: [call], src: V}\n',
        encoding="utf-8",
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: t\npacks: [us-federal, ./night.yaml]\n", encoding="utf-8")

    error = _error(policy)

    assert "night.yaml:5: windows.0: contradictory window P1-NIGHT" in str(error)


@pytest.mark.parametrize("channels", ["", "channels: [], "])
def test_a_confirmation_must_name_its_channels(tmp_path: Path, channels: str) -> None:
    """TC-4 allows one confirmation *text*: a pack's confirmation says which media it may use."""
    pack = GOOD_PACK + (
        f"confirmation: {{id: TC-4, purpose: opt_out_confirmation, {channels}"
        "within_minutes: 5, max: 1}\n"
    )

    error = _error(_write(tmp_path, pack))

    assert str(error) == (
        f"{tmp_path / 'custom.yaml'}:12: confirmation.channels: a confirmation must name its"
        " channels (TC-4 allows one text: [sms])"
    )


def test_a_policy_recorded_before_confirmations_named_channels_replays_as_it_was() -> None:
    """P5: a recorded document whose TC-4 names no channels still hashes to its version, and
    its decisions are re-proved as they were made (a confirmation on any medium)."""
    doc = policy_document(load_policy("default"))
    for pack in doc["packs"]:
        if pack.get("confirmation"):
            del pack["confirmation"]["channels"]
    then = policy_from_document(rehashed(doc))
    now = load_policy("default")
    stop = datetime(2026, 4, 14, 12, 0, tzinfo=ET)
    consents = (grant(Channel.CALL), revoke(Channel.CALL, MOBILE, at=stop))

    def confirm_by_call(policy: Policy) -> Verdict:
        at = stop + timedelta(minutes=2)
        purpose = Purpose.OPT_OUT_CONFIRMATION
        return decide(at, purpose=purpose, consents=consents, policy=policy).verdict

    assert then.version != now.version
    assert policy_from_document(policy_document(then)).version == then.version
    assert confirm_by_call(then) == Verdict.AUTHORISED
    assert confirm_by_call(now) == Verdict.SUPPRESSED


def test_a_policy_recorded_before_consent_lifted_the_work_email_hold_replays_as_it_was() -> None:
    """P5: a recorded document whose RF-9 work-email hold has no ``unless_consented`` still
    hashes to its version, and its decisions are re-proved as they were made: consent to the
    employer-provided address did not lift the hold then."""
    doc = policy_document(load_policy("default"))
    for pack in doc["packs"]:
        for hold in pack.get("holds", []):
            hold.pop("unless_consented", None)
    then = policy_from_document(rehashed(doc))
    now = load_policy("default")
    work = "pat@employer.example"
    party = PartyFacts(
        "p1",
        PartyRole.BORROWER,
        addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
        emails=(Email(address=work, kind=EmailKind.WORK),),
    )
    consents = (grant(Channel.EMAIL, work),)

    def email_at_work(policy: Policy) -> tuple[str, ...]:
        at = datetime(2026, 4, 14, 12, 0, tzinfo=ET)
        return decide(
            at, channel=Channel.EMAIL, to=work, party=party, consents=consents, policy=policy
        ).reasons

    assert then.version != now.version
    assert policy_from_document(policy_document(then)).version == then.version
    assert email_at_work(then) == ("RF-9",)
    assert email_at_work(now) == ()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: &a [*a]\npolicy: p\npacks: [us-federal]\n", 1),  # a cycle
        (  # aliases of aliases: a few hundred bytes that expand to gigabytes
            'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
            + "".join(
                f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            )
            + "policy: p\npacks: [us-federal]\n",
            2,
        ),
    ],
)
def test_yaml_aliases_are_refused_where_they_are(tmp_path: Path, text: str, line: int) -> None:
    """A policy has no use for aliases, and they turn a small file into a cycle or a memory
    bomb: one line naming the first, not a RecursionError or a process killed for memory."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")

    error = _error(policy)

    assert str(error) == (
        f"{policy}:{line}: invalid YAML: aliases (*name) are not allowed in a policy file"
    )


def test_an_override_that_changes_nothing_is_refused_where_it_is(tmp_path: Path) -> None:
    """`{rule: RF-1}` alone would be accepted and believed applied: a field left out."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: p\npacks: [us-federal]\noverrides:\n  - {rule: RF-1}\n")

    error = _error(policy)

    assert str(error).startswith(f"{policy}:4: overrides.0: changes nothing")
