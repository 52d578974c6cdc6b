"""Opt-out keywords (TC-2, RF-16; CN 退订) and a deliberately simple matcher.

A message is an opt-out when it *begins with* a keyword, or holds one of the policy's opt-out
*phrases* anywhere as whole words ("Please stop texting me", "I want to opt out", "我要退订").
Both are compared after NFKC normalisation (so
"STOP" typed in full-width letters, as Chinese keyboards do, is "STOP"), case folding, and
dropping invisible format characters (a zero-width space or byte-order mark pasted before a
word) and apostrophes (phones drop them: "dont text me" is "don't text me"). A keyword may
follow anything that is not a letter or digit: whitespace, quotes, brackets, dashes, asterisks,
emoji ("- quit", "*cancel*", "🛑 END", "【退订】").

- Between the words of a multi-word keyword, any run of whitespace, hyphens and underscores, or
  none, counts as the space ("opt out", "Opt-out", "OPT_OUT", "OPTOUT").
- A keyword in ASCII must end the message or be followed by a character that is neither a
  digit nor a letter of the Latin scripts ("STOP", "Stop!", "Stop, please", "STOP. Thanks",
  '"STOP"'), so a longer word that merely begins with it is not one ("Stopped by the bank",
  "Endless", "Cancelled my card?"). Chinese runs the next word on without a space, so "STOP谢谢"
  is one.
- Any other keyword matches as a prefix, as scripts that do not use spaces (退订) run the next
  word on ("退订谢谢", "【退订】").

- A phrase is matched as whole words wherever it stands; a phrase not in ASCII (退订) as a
  run of characters. Words that are common in other senses ("end of the month", "cancel my
  card", "I quit my job") are keywords only, not phrases. A phrase may over-read ("I can't stop
  by the branch"): that errs towards stopping texts, never towards sending one.

Anything subtler ("leave me alone") is for a person or a classifier to record as a
ConsentRevoked event; TC-2 says other words count when a reasonable person would read them as
revocation, so this function is a floor, not a ceiling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from contracts.values import Channel
from services.compliance.core.policy import Policy


def opt_out_keywords(policy: Policy) -> frozenset[str]:
    """Every opt-out keyword of every pack in the policy (upper case as written in the packs)."""
    return policy.keywords


def is_opt_out(policy: Policy, body: str) -> bool:
    """Whether an inbound message is an opt-out: it begins with a keyword, or holds a phrase
    (module docstring)."""
    return _opts_out(policy, _fold(body))


def _opts_out(policy: Policy, folded: str) -> bool:
    leading = _opt_out(policy.keywords)
    if leading is not None and leading.match(folded) is not None:
        return True
    return _holds(policy.phrases, folded)


def _holds(phrases: frozenset[str], folded: str) -> bool:
    anywhere = _anywhere(phrases)
    return anywhere is not None and anywhere.search(folded) is not None


def revoked_by(policy: Policy, body: str) -> tuple[tuple[Channel, bool], ...]:
    """What an inbound text revokes, as (medium, whole medium?) pairs, texts first; empty when
    it is no opt-out. Texts to the number it came from, for an opt-out word (``is_opt_out``);
    texts to every number, for words naming the medium ("don't text me", RF-17); calls to every
    number, for words naming calls ("stop calling", "do not call"). Words naming a medium may
    over-read ("don't call me at work" stops every call): that errs towards stopping contact,
    never towards making it."""
    folded = _fold(body)  # once, for every reading below
    revoked: list[tuple[Channel, bool]] = []
    if _holds(policy.text_phrases, folded):
        revoked.append((Channel.SMS, True))
    elif _opts_out(policy, folded):
        revoked.append((Channel.SMS, False))
    if _holds(policy.call_phrases, folded):
        revoked.append((Channel.CALL, True))
    return tuple(revoked)


# What may come before the keyword: anything but a letter or a digit. People (and their
# keyboards' autocorrect) wrap a word in quotes and brackets, Latin or CJK, and start a reply
# with a dash, an asterisk or an emoji; none of that makes "quit" mean something else.
_LEADING = r"[\W_]*"
# The words of a multi-word keyword as written in a pack are split at these ("opt out")...
_WORD_BREAK = r"[\s_-]+"
# ...and in a reply any such run, or none, joins them: "opt out", "opt-out", "opt_out", "optout".
_BETWEEN_WORDS = r"[\s_-]*"
# Apostrophes, straight and curly (U+2019, as phones' autocorrect types it), are dropped: a
# phone often drops them too, and "dont text me" means "don't text me".
_APOSTROPHES = str.maketrans("", "", "'\u2019")


def _fold(text: str) -> str:
    # NFKC first: full-width letters (typed on Chinese keyboards) become ASCII ones. Format
    # characters (Unicode category Cf: zero-width spaces and joiners, the byte-order mark) are
    # invisible: pasted before "QUIT" they must not hide it.
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    if folded.isascii():
        return folded
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


# A letter of the Latin scripts or a digit (folded: lower case): what continues an ASCII word.
_WORD = "0-9a-z\u00c0-\u024f"


def _alternation(words: frozenset[str], *, whole_word: bool) -> str | None:
    """One regex alternation of ``words``, longest first, or None for no word. An ASCII word is
    never followed by a digit or a Latin letter ("stopped" is not "stop"; CJK text after it is
    the next word, "stop谢谢"); with ``whole_word`` it is not preceded by one either. A word in
    another script (退订) is a plain run of characters: those scripts use no spaces."""
    ascii_words: list[str] = []
    other_words: list[str] = []
    for keyword in sorted(words, key=lambda k: (-len(k), k)):
        word = _fold(keyword)
        parts = [re.escape(part) for part in re.split(_WORD_BREAK, word) if part]
        if parts:
            (ascii_words if word.isascii() else other_words).append(_BETWEEN_WORDS.join(parts))
    alternatives = []
    if ascii_words:
        before = f"(?<![{_WORD}])" if whole_word else ""
        alternatives.append(rf"{before}(?:{'|'.join(ascii_words)})(?![{_WORD}])")
    if other_words:
        alternatives.append("|".join(other_words))
    return "|".join(alternatives) if alternatives else None


@lru_cache(maxsize=64)
def _opt_out(keywords: frozenset[str]) -> re.Pattern[str] | None:
    # One anchored pattern per keyword set, so a message is read once however many keywords the
    # policy has: the orchestrator and the audit both check every inbound text.
    words = _alternation(keywords, whole_word=False)
    if words is None:
        return None  # a policy that honours no word: nothing is an opt-out by keyword
    return re.compile(rf"{_LEADING}(?:{words})")


@lru_cache(maxsize=64)
def _anywhere(phrases: frozenset[str]) -> re.Pattern[str] | None:
    words = _alternation(phrases, whole_word=True)
    return re.compile(words) if words is not None else None


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
