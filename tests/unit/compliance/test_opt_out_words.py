"""Which replies are opt-outs by keyword (TC-2, RF-16): the floor the orchestrator revokes on and
the audit checks every inbound text against, under the default policy's words (STOP, QUIT, END,
REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE, STOPALL, 退订)."""

from __future__ import annotations

import pytest

from services.compliance.core import is_opt_out
from tests.unit.compliance.gate_builders import POLICY

FULL_WIDTH_STOP = "\uff33\uff34\uff2f\uff30"  # STOP in full-width letters (Chinese keyboards)


@pytest.mark.parametrize(
    "body",
    [
        # A keyword followed by punctuation, not only by a space or nothing.
        "Stop, please",
        "STOP. Thanks",
        "STOP!!! leave me alone",
        "stop\u2026",  # an ellipsis
        "End.",
        "Cancel;",
        "UNSUBSCRIBE:)",
        # Wrapped in quotes or brackets, ASCII or typographic.
        '"STOP"',
        "'stop'",
        "\u201cStop\u201d",  # curly double quotes
        "(STOP)",
        "[STOP]",
        "  \t\u201c Stop",
        # Multi-word keywords with a hyphen or an underscore between the words.
        "Opt-out",
        "opt_out",
        "OPT-OUT please",
        "opt  out",
        # Full-width forms, as Chinese keyboards type them.
        FULL_WIDTH_STOP,
        f"{FULL_WIDTH_STOP}\uff01",  # and a full-width exclamation mark
        "\uff02STOP\uff02",  # full-width quotes
        # 退订 in CJK brackets, and as a prefix run on with the next words.
        "【退订】",
        "「退订」",
        "『退订』",
        "（退订）",  # noqa: RUF001 - full-width parentheses, as typed
        "退订谢谢",
        "STOP谢谢",  # Chinese runs the next word on: 谢谢 is not part of the keyword
        "退订。",
        # As before: the whole message, or the first word(s) then a space.
        "STOP",
        "stopall",
        "Quit texting me",
        "revoke",
    ],
)
def test_a_reply_beginning_with_an_opt_out_word_is_an_opt_out(body: str) -> None:
    assert is_opt_out(POLICY, body)


@pytest.mark.parametrize(
    "body",
    [
        # A longer word that merely begins with a keyword: it must end at a word boundary.
        "Stopped by the bank today",
        "Endless calls, but I will pay",
        "Cancelled my card?",
        "stopping by later",
        "Quite busy, call tomorrow",
        "opt outside",
        "STOP2",
        f"{FULL_WIDTH_STOP}PED",
        "Stopień",  # a Latin letter continues the word
        # Not at the start: for a person or a classifier (TC-2's "reasonable means").
        "please stop",
        "I want to opt out",
        "\u2026stop",  # leading punctuation other than quotes and brackets
        "Can you call me tomorrow?",
        "",
        "   ",
        '""',
        "【】",
    ],
)
def test_anything_else_is_not_an_opt_out_by_keyword(body: str) -> None:
    assert not is_opt_out(POLICY, body)
