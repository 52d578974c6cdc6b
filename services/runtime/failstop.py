"""What a service does when it can no longer keep its promises: it stops, at once and loudly.

A batch whose writes failed (the broker gone for longer than a request's timeout, a record it
refuses) leaves the service's memory ahead of the ledger: state holding inputs the ledger lacks,
offsets it would skip. Carrying on would decide later inputs on that state and commit past the
lost ones (P3, P5). The one failure the design is proven against is a crash (tests/faults:
SIGKILL): the next owner rebuilds state from the ledger and reads again from the last commit. So
an unexpected failure in a batch, a tick or a restore ends the process like one, and its
supervisor (or the operator) starts it again.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn, Protocol

import structlog

log = structlog.get_logger("failstop")

EXIT_FAILED = 70  # EX_SOFTWARE: an internal error, as sysexits.h names it
_exit = os._exit  # the tests' conftest makes this raise, so a test fails instead of pytest


class Fail(Protocol):
    def __call__(self, event: str, exc: BaseException) -> NoReturn: ...


def fail_stop(event: str, exc: BaseException) -> NoReturn:
    """Log what failed (its type and redacted text, P7) and end the process without clean-up:
    a clean shutdown could commit or publish from the state that can no longer be trusted."""
    log.critical(event, error=type(exc).__name__, exc_info=exc)
    sys.stdout.flush()
    sys.stderr.flush()
    _exit(EXIT_FAILED)
    raise AssertionError("unreachable")  # for the type checker, if _exit is replaced
