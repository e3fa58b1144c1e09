"""The arguments people pass to mailspec's entry points (a Mailer's options, a webhook
request's parts, a code to explain), checked where they come in: a wrong type or value
is a :class:`~mailspec.ValidationError` naming the argument, never a ``TypeError``
from deep inside, at the first send, once the Mailer is built.

Numbers are ints or floats, never bools (``True`` is an int to Python, never a count of
seconds to a reader), and finite: an infinite deadline or a NaN weight would pass a
comparison and break a sum, a sleep or a store's expiry later. A wrong type is named
in the error; a wrong value is not repeated (the caller has it, and a setting read
from the environment adds it where it is safe to show).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ValidationError

__all__ = [
    "choice",
    "flag",
    "function",
    "items",
    "mapping_of_strings",
    "number",
    "optional_text",
    "text",
    "whole",
]


def number(value: object, field: str, *, minimum: float = 0.0, above: bool = False) -> float:
    """A finite int or float at least ``minimum`` (more than it, with ``above``)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValidationError(f"expected a number, got {type(value).__name__}", field=field)
    try:
        seconds = float(value)
    except OverflowError:  # an int past what a float holds
        seconds = math.inf
    if not (math.isfinite(seconds) and (seconds > minimum if above else seconds >= minimum)):
        what = (
            "a positive number"
            if above and minimum == 0
            else f"a number {'above' if above else 'of at least'} {minimum:g}"
        )
        raise ValidationError(f"must be {what} (not NaN or infinity)", field=field)
    return seconds


def whole(value: object, field: str, *, minimum: int = 1) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"expected a whole number, got {type(value).__name__}", field=field)
    if value < minimum:
        raise ValidationError(f"must be at least {minimum}", field=field)
    return value


def flag(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(f"expected True or False, got {type(value).__name__}", field=field)


def choice(value: object, field: str, choices: Sequence[str]) -> str:
    """One of ``choices``; the error lists them (``is 'stop' or 'failover'``)."""
    if isinstance(value, str) and value in choices:
        return value
    listed = " or ".join(repr(c) for c in choices)
    kind = "" if isinstance(value, str) else f", got {type(value).__name__}"
    raise ValidationError(f"is {listed}{kind}", field=field)


def text(value: object, field: str) -> str:
    if isinstance(value, str):
        return value
    raise ValidationError(f"expected a string, got {type(value).__name__}", field=field)


def optional_text(value: object, field: str) -> str | None:
    return None if value is None else text(value, field)


def function(value: object, field: str) -> None:
    """None, or something that can be called."""
    if value is None or callable(value):
        return
    raise ValidationError(f"expected a function or None, got {type(value).__name__}", field=field)


def items(value: object, field: str, what: str) -> list[Any]:
    """The items of an iterable (``what`` names them for the error), taken once: a
    string, bytes or a mapping is not a list of them, however iterable."""
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray | Mapping):
        try:
            return list(value)
        except TypeError:  # an __iter__ that is not one
            pass
    raise ValidationError(f"expected a list of {what}, got {type(value).__name__}", field=field)


def mapping_of_strings(value: object, field: str) -> Mapping[str, str]:
    """A mapping whose keys and values are all strings (HTTP headers, environment
    variables)."""
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return value
    raise ValidationError(
        f"expected a mapping of strings to strings, got {type(value).__name__}", field=field
    )
