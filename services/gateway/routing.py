"""Which borrower a status callback is about: its outcome goes to that borrower's partition.

The status-callback URL a channel adapter gives the vendor names the attempt, the party
contacted and the debt the contact was about (``loan``); a sender that knows the borrower may
name it too (``borrower``). The vendor signs that URL, query included, so none of these can be
forged by a caller without the auth token.

A party id alone can be ambiguous: one person may be a party on several borrowers' debts (a
guarantor of two loans, a borrower who guarantees someone else's). Picking one of them would
put a receipt in the wrong borrower's history, where it is ignored, and lose it for the right
one. The debt settles it: a debt has one borrower, so a (party, debt) pair already read is
routed at once, even while the directory is still replaying.
"""

from __future__ import annotations

from enum import Enum

from services.gateway.directory import Directory

__all__ = ["Unrouted", "route_receipt"]


class Unrouted(Enum):
    NOT_READ_YET = "not_read_yet"  # the directory is replaying: the vendor should retry
    UNKNOWN = "unknown"  # nobody the directory knows, after catch-up
    AMBIGUOUS = "ambiguous"  # a party of several borrowers, and no debt to tell them apart


def route_receipt(
    directory: Directory, *, party_id: str, loan_id: str = "", borrower_id: str = ""
) -> str | Unrouted:
    """The borrower id for a status callback about ``party_id`` (and ``loan_id``, when the
    callback URL names the debt), or why there is none."""
    if borrower_id:
        return borrower_id  # named by the sender in the signed URL: nothing to look up
    if loan_id:
        exact = directory.borrower_for_debt(party_id, loan_id)
        if exact is not None:
            return exact
        if not directory.ready():
            return Unrouted.NOT_READ_YET  # this party's link to this debt may be further on
    # No debt in the URL (a message sent before adapters named it), or a debt the directory has
    # not seen: the party decides, but only if it names a single borrower.
    borrowers = directory.borrowers_for_party(party_id)
    if len(borrowers) > 1:
        return Unrouted.AMBIGUOUS  # more reading only adds borrowers: retrying cannot help
    if borrowers:
        return borrowers[0]
    return Unrouted.UNKNOWN if directory.ready() else Unrouted.NOT_READ_YET
