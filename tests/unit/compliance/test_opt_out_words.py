"""Which replies are opt-outs by keyword (TC-2, RF-16): the floor the orchestrator revokes on and
the audit checks every inbound text against, under the default policy's words: keywords at the
start (STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE, STOPALL, 退订) and phrases
anywhere (STOP, UNSUBSCRIBE, OPT OUT, REVOKE, REMOVE ME, DO NOT TEXT, NO MORE TEXTS, 退订...)."""

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
        # After any other leading mark: a dash, an asterisk, a hash, an emoji (session 14).
        "- quit",
        "*cancel*",
        "#STOP",
        "\U0001f6d1 END",
        # After an invisible format character pasted before the word.
        "\u200bQUIT",
        "\ufeffCANCEL",
        "\u200dstop",
        # A multi-word keyword written as one word (carriers' own lists have OPTOUT).
        "OPTOUT",
        "opt-_ out",
        # 退订 in traditional characters.
        "退訂",
        "【退訂】",
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
        # TC-2's "other clear words", anywhere in the reply (session 11: these were missed).
        "please stop",
        "Please stop texting me",
        "I want to opt out",
        "I want to opt-out of these messages",
        "No more texts, unsubscribe",
        "no more text messages please",
        "Don\u2019t text me again",  # a curly apostrophe, as phones type it
        "do not contact me",
        "Remove me from your list",
        "I revoke my consent",
        "\u2026stop",  # leading punctuation other than quotes and brackets
        "I said STOP",
        "我要退订",
        "我要退訂",
        # Without the apostrophe, as phones often send it (session 14).
        "dont text me",
        "Dont contact me",
        "pls dont text",
        "请帮我退订，谢谢",  # noqa: RUF001 - a full-width comma, as typed
    ],
)
def test_a_reply_holding_an_opt_out_phrase_anywhere_is_an_opt_out(body: str) -> None:
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
        "*Quite* busy, call tomorrow",
        "- ending soon?",
        "Optometrist bill first, then you",
        "opt outside",
        "STOP2",
        f"{FULL_WIDTH_STOP}PED",
        "Stopień",  # a Latin letter continues the word
        # Everyday words that are keywords only, not phrases: not at the start, not a revocation.
        "I will pay by the end of the month",
        "When does my plan end?",
        "I had to cancel my card, will pay Friday",
        "I quit my job last week",
        "Nonstop calls about this",  # a phrase must be a whole word
        "unsubscribed already?",
        "Can you call me tomorrow?",
        "",
        "   ",
        '""',
        "【】",
    ],
)
def test_anything_else_is_not_an_opt_out_by_keyword(body: str) -> None:
    assert not is_opt_out(POLICY, body)


def test_a_phrase_may_over_read_and_then_errs_towards_stopping_texts() -> None:
    """Whole words are all the matcher knows: "stop by" reads as "stop". Texts to that number
    stop until consent is given again; a text is never sent on a misreading."""
    assert is_opt_out(POLICY, "I can't stop by the branch today")
