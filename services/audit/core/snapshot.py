"""A cheap, isolated copy of a borrower's state, so that re-deriving a decision can never leave a
trace in the state the audit folds from the ledger (P5).

``copy.deepcopy`` did the same but took two thirds of an audit, copying values that cannot
change: frozen contract messages, frozen gate records, datetimes, enums, strings. Here a copier
is compiled once per state class from its type hints: frozen parts are shared, mutable ones
(non-frozen dataclasses, dicts, lists, sets) are copied. Whatever the hints do not pin down is
copied by looking at the value's own type, and a type it does not know at all goes to
``deepcopy``: a new kind of field is never shared by accident, only copied slowly.
"""

from __future__ import annotations

import copy
import dataclasses
import operator
import types
import typing
from collections.abc import Callable
from datetime import date, time, timedelta, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")
Copier = Callable[[Any], Any]

_IMMUTABLE: tuple[type, ...] = (
    str,
    int,  # bool too
    float,
    bytes,
    type(None),
    Decimal,
    date,  # datetime too
    time,
    timedelta,
    tzinfo,
    Enum,
    frozenset,  # of hashable values, which Parley never mutates
)


def snapshot(value: T) -> T:
    """A copy of ``value`` that shares nothing mutable with it."""
    result: T = _by_value(value)
    return result


def _same(value: Any) -> Any:
    return value


def _by_value(value: Any) -> Any:
    return _for_class(type(value))(value)


_COPIERS: dict[type, Copier] = {}


def _for_class(cls: type) -> Copier:
    copier = _COPIERS.get(cls)
    if copier is None:
        # A class that refers to itself meets this placeholder while it is being compiled.
        _COPIERS[cls] = _by_value
        copier = _COPIERS[cls] = _compile(cls)
    return copier


def _frozen(cls: type) -> bool:
    """Frozen messages and records are immutable by contract, even where they hold a container
    (an intent's template variables): nothing in Parley mutates a frozen value's insides."""
    if issubclass(cls, BaseModel):
        return bool(cls.model_config.get("frozen"))
    params = getattr(cls, "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


def _compile(cls: type) -> Copier:
    if issubclass(cls, _IMMUTABLE) or _frozen(cls):
        return _same
    if dataclasses.is_dataclass(cls) and cls.__dictoffset__ == 0:
        # slots dataclasses only (no instance __dict__): their fields are all they hold
        return _dataclass(cls)
    if cls is dict:
        return lambda d: {k: _by_value(v) for k, v in d.items()}  # keys are hashable ids
    if cls is list:
        return lambda xs: [_by_value(x) for x in xs]
    if cls is set:
        return set.copy  # members are hashable values (ids), never mutated in place
    if cls is tuple:
        return _tuple
    return copy.deepcopy


def _tuple(value: tuple[Any, ...]) -> tuple[Any, ...]:
    copies = [_by_value(v) for v in value]
    return value if all(c is v for c, v in zip(copies, value, strict=True)) else tuple(copies)


def _for_hint(hint: Any) -> Copier:
    """The copier a declared type calls for; ``_same`` when every value it admits is immutable."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is None:
        return _for_class(hint) if isinstance(hint, type) else _by_value
    if origin is typing.Literal:
        return _same
    if origin in (typing.Union, types.UnionType):
        parts = [_for_hint(a) for a in args]
        if all(p is _same for p in parts):
            return _same
        if len(args) == 2 and type(None) in args:
            some = parts[0] if args[1] is type(None) else parts[1]
            return lambda v: None if v is None else some(v)
        return _by_value
    if origin is tuple:
        return _same if all(_for_hint(a) is _same for a in args if a is not Ellipsis) else _tuple
    if origin is frozenset:
        return _same
    if origin is set:
        return set.copy
    if origin is list:
        item = _for_hint(args[0]) if args else _by_value
        return list.copy if item is _same else (lambda xs: [item(x) for x in xs])
    if origin is dict:
        value = _for_hint(args[1]) if len(args) == 2 else _by_value
        return dict.copy if value is _same else (lambda d: {k: value(v) for k, v in d.items()})
    return _by_value


def _dataclass(cls: type) -> Copier:
    fields = dataclasses.fields(cls)
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # a hint that does not resolve at run time
        hints = {}
    names = tuple(f.name for f in fields)
    copiers = tuple(_for_hint(hints[n]) if n in hints else _by_value for n in names)
    if len(names) > 1 and all(f.init for f in fields) and not hasattr(cls, "__post_init__"):
        # Reading every field at once and rebuilding through __init__ is the quickest way;
        # only the fields that can hold something mutable go through a copier.
        values = operator.attrgetter(*names)
        mutable = tuple((i, c) for i, c in enumerate(copiers) if c is not _same)
        if not mutable:
            return lambda v: cls(*values(v))

        def rebuild_with_copies(v: Any) -> Any:
            args = list(values(v))
            for i, c in mutable:
                args[i] = c(args[i])
            return cls(*args)

        return rebuild_with_copies

    def rebuild(v: Any) -> Any:
        new: Any = object.__new__(cls)
        for name, c in zip(names, copiers, strict=True):
            object.__setattr__(new, name, c(getattr(v, name)))
        return new

    return rebuild
