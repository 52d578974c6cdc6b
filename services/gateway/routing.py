"""Which borrower a status callback is about: its outcome goes to that borrower's partition.

The status-callback URL a channel adapter gives the vendor names the attempt, the party
contacted and the debt the contact was about (``loan``); a sender that knows the borrower may
name it too (``borrower``). The vendor signs that URL, query included, so none of these can be
forged by a caller without the auth token.

A debt has exactly one borrower, so when the URL names one, the debt alone decides: a debt
already read is routed to its borrower at once (even while the directory is still replaying),
whichever party was contacted and whether or not that party's link to the debt has been read.
The party is never consulted then. A party id can name several borrowers (a guarantor of two
loans, a borrower who guarantees someone else's), and even a party that names one borrower so
far may be on a debt whose link has not been read yet: routing by it would file the receipt in
another borrower's history, where it is ignored, and lose it for the right one.

A debt the directory has not read is answered "retry later" (503 + Retry-After), before *and*
after catch-up. Before, it may be further on in the replay. After, :meth:`Directory.ready` only
means the directory has read what the topic held when it (re)started; a record published since
is read moments later, and the debt in the URL was on the upstream topic before the contact was
sent (the orchestrator authorised the contact from it), so a miss is almost always the
follower's live lag and the redelivery is routed. Acknowledging instead (202) would lose the
receipt for sure, and guessing by the party would misfile it. If the debt never turns up, the
vendor's retries are bounded: they end, and the receipt is lost as a 202 would have lost it, but
every refusal is logged (``gateway.receipt_loan_not_read``) with the attempt and the debt.

Only a callback that names no debt (a message sent before adapters named it) is routed by the
party, and only if the party names exactly one borrower.
"""

from __future__ import annotations

from enum import Enum

from services.gateway.directory import Directory

__all__ = ["Unrouted", "route_receipt"]


class Unrouted(Enum):
    """Why a receipt has no borrower. The gateway answers the ``*_NOT_READ_YET`` ones 503 +
    Retry-After (the vendor redelivers), and acknowledges the others (202) with a warning, since
    retrying them cannot help."""

    NOT_READ_YET = "not_read_yet"  # the directory is replaying: the debt or party may be further on
    LOAN_NOT_READ_YET = "loan_not_read_yet"  # caught up, but the debt named is not read: live lag
    UNKNOWN = "unknown"  # no debt named, and a party nobody knows after catch-up
    AMBIGUOUS = "ambiguous"  # no debt named, and a party of several borrowers


def route_receipt(
    directory: Directory, *, party_id: str, loan_id: str = "", borrower_id: str = ""
) -> str | Unrouted:
    """The borrower id for a status callback about ``party_id`` (and ``loan_id``, when the
    callback URL names the debt), or why there is none."""
    if borrower_id:
        return borrower_id  # named by the sender in the signed URL: nothing to look up
    if loan_id:
        owner = directory.borrower_for_loan(loan_id)
        if owner is not None:
            return owner  # a debt has one borrower, whoever was contacted about it
        # Never the party's borrower: see the module docstring.
        return Unrouted.LOAN_NOT_READ_YET if directory.ready() else Unrouted.NOT_READ_YET
    # No debt in the URL: the party decides, but only if it names a single borrower.
    borrowers = directory.borrowers_for_party(party_id)
    if len(borrowers) > 1:
        return Unrouted.AMBIGUOUS  # more reading only adds borrowers: retrying cannot help
    if borrowers:
        return borrowers[0]
    return Unrouted.UNKNOWN if directory.ready() else Unrouted.NOT_READ_YET
