"""Errors raised by the compliance core.

Hierarchy (kept small on purpose):

- ``PolicyError(ValueError)``: a policy or rule pack cannot be loaded. ``str()`` is one line,
  ``<file>:<line>: <field>: <problem>``, so an operator can jump straight to the typo.

Evaluation itself never raises for a well-formed ``GateInput``: every problem with the contact
becomes a SUPPRESSED verdict with a rule id, because a compliance block is an event, not an error.
"""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy file or rule pack is invalid; the message is a single ``file:line: field: problem``."""

    def __init__(self, file: str, line: int | None, field: str, problem: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.problem = " ".join(problem.split())  # one line, whatever pydantic or yaml said
        where = f"{file}:{line}" if line is not None else file
        super().__init__(
            f"{where}: {field}: {self.problem}" if field else f"{where}: {self.problem}"
        )
