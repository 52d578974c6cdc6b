"""RF-16 and TC-4: every text and email tells the person how to opt out, except the one plain
text that confirms an opt-out (it says no more texts will come; a "Reply STOP" there is noise)."""

from __future__ import annotations

import pytest

from contracts.values import Channel
from services.strategy.core.playbook import (
    SAMPLE,
    Action,
    PlaybookError,
    check_playbook,
    load_playbook,
    load_templates,
)

STOP_INSTRUCTIONS = {"en": "Reply STOP", "zh-CN": "回复退订"}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_opt_out_confirmation_text_carries_no_opt_out_instruction(language: str) -> None:
    templates = load_templates()
    footer = templates.by_language[language]["_footer"]["sms"]

    _, body = templates.render(language, "opt_out_confirmation", Channel.SMS, SAMPLE)

    assert body
    assert STOP_INSTRUCTIONS[language] not in body
    assert "STOP" not in body
    assert footer.strip() not in body


NO_MORE_TEXTS = {"en": "no more texts", "zh-CN": "不再收到短信"}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_opt_out_confirmation_names_the_sender_and_promises_no_way_back_in(
    language: str,
) -> None:
    """It says who it is from and that no more texts will come, and nothing else: no "Reply
    START to resubscribe", since no reply grants consent back in Parley (TC-4 allows no more)."""
    _, body = load_templates().render(
        language, "opt_out_confirmation", Channel.SMS, {**SAMPLE, "business": "Northwind"}
    )

    assert body.startswith("Northwind")
    assert NO_MORE_TEXTS[language] in body
    assert "START" not in body.upper()
    assert "subscribe" not in body.casefold()
    assert "订阅" not in body


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("pre_due_reminder", Channel.SMS),
        ("firm_sms", Channel.SMS),
        ("payment_confirmation", Channel.SMS),
        ("pre_due_reminder", Channel.EMAIL),
        ("dispute_response", Channel.EMAIL),
    ],
)
def test_every_other_text_and_email_still_carries_the_opt_out(
    language: str, name: str, channel: Channel
) -> None:
    templates = load_templates()
    footer = templates.by_language[language]["_footer"][channel.value]

    _, body = templates.render(language, name, channel, SAMPLE)

    assert body.endswith(footer)


def test_the_shipped_playbooks_use_the_plain_template_only_for_the_confirmation() -> None:
    templates = load_templates()

    for name in ("default", "bnpl"):
        check_playbook(load_playbook(name)[0], templates)


@pytest.mark.parametrize(
    ("action", "channel"),
    [("payment_confirmation", Channel.SMS), ("opt_out_confirmation", Channel.EMAIL)],
    ids=["another-text", "a-confirmation-email"],
)
def test_a_plain_template_used_for_anything_but_the_confirmation_text_fails_at_load(
    action: str, channel: Channel
) -> None:
    """RF-16 is checked at start-up, not found by the audit after the text has gone."""
    playbook, _ = load_playbook("default")
    misused = playbook.model_copy(
        update={action: Action(channel=channel, template="opt_out_confirmation")}
    )

    with pytest.raises(PlaybookError, match="no opt-out notice"):
        check_playbook(misused, load_templates())
