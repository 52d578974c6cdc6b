"""Opt-out keywords (TC-2, RF-16; CN 退订) and a deliberately simple matcher.

A message is an opt-out when, after trimming whitespace and trailing punctuation and folding
case, it *is* a keyword ("Stop!") or *starts with* one followed by a space ("STOP please",
"opt out now"). Keywords without spaces in scripts that do not use spaces (退订) also match as a
prefix ("退订谢谢"). Anything subtler ("please don't text me") is for a person or a classifier to
record as a ConsentRevoked event; TC-2 says other words count when a reasonable person would
read them as revocation, so this function is a floor, not a ceiling.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.compliance.core.policy import Policy

# Trailing punctuation: ASCII, and the CJK full stop and full-width ! ? , forms.
_TRAILING = " \t\r\n.!?,;:\u3002\uff01\uff1f\uff0c"


def opt_out_keywords(policy: Policy) -> frozenset[str]:
    """Every opt-out keyword of every pack in the policy (upper case as written in the packs)."""
    return policy.keywords


def is_opt_out(policy: Policy, body: str) -> bool:
    """Whether an inbound message is an opt-out (whole message, or leading keyword)."""
    text = " ".join(body.split()).strip(_TRAILING).casefold()
    if not text:
        return False
    for keyword in policy.keywords:
        word = keyword.casefold()
        if text == word or text.startswith(word + " "):
            return True
        if not word.isascii() and text.startswith(word):
            return True
    return False


def names_an_opt_out(policy: Policy, body: str) -> bool:
    """Whether an outgoing text or email tells the person how to opt out (RF-16): it tells them
    to reply with, or send, one of the words the policy honours, in the same clause ("Reply
    STOP", "Reply HELP for help, STOP to cancel", "reply to this message with STOP", "回复退订").
    A keyword merely used as a word ("your plan will end", "do not stop paying") tells nobody
    anything. A policy that honours no word leaves no way to name one."""
    return bool(policy.keywords) and _naming(policy.keywords).search(body) is not None


# The instruction before the word, in the languages of the built-in templates (en, zh-CN): a
# template in another language needs its verbs here, or the audit reports it.
_INSTRUCTIONS = (r"(?<![A-Za-z])(?:reply|text|send|respond)(?:\s+(?:with|us))?", "回复", "发送")
_QUOTES = "\"'\u201c\u2018\u300c"
# Between the instruction and the word: at most this much of the same clause (no full stop,
# question or exclamation mark, semicolon or line break, in either script).
_SAME_CLAUSE = r"[^.!?;\n\u3002\uff01\uff1f\uff1b]{0,30}?"


@lru_cache(maxsize=64)
def _naming(keywords: frozenset[str]) -> re.Pattern[str]:
    # One pattern per keyword set: the audit checks every text and email it reads.
    words = sorted(keywords, key=lambda k: (-len(k), k))
    keyword = "|".join(
        re.escape(k) if not k.isascii() else rf"(?<![A-Za-z]){re.escape(k)}(?![A-Za-z])"
        for k in words
    )
    return re.compile(
        rf"(?:{'|'.join(_INSTRUCTIONS)}){_SAME_CLAUSE}[{_QUOTES}]?(?:{keyword})", re.IGNORECASE
    )
