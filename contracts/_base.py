"""Base class for every published message: frozen, strict about unknown fields, versioned."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """A message in Parley's published language.

    ``TYPE`` is the stable wire name (never reused), ``VERSION`` the schema version of this class.
    A breaking change bumps ``VERSION`` and adds an upcaster in ``events.upcasting``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
