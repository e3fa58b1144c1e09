"""Spec values → Python source text, already in the layout ``ruff format`` keeps.

Every string that comes from a spec reaches generated code through :func:`string`
(or :func:`docstring`), never by pasting, so no spec can inject code. :func:`literal`
writes spec-model objects, dicts, lists and enums as constructor expressions: on one line when
it fits, otherwise one item per line with a trailing comma, the form ruff leaves alone.
"""

from __future__ import annotations

import enum
import functools
import re
import textwrap
import unicodedata
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "LINE_LENGTH",
    "Verbatim",
    "call",
    "docstring",
    "import_key",
    "isort_key",
    "literal",
    "names_in",
    "string",
]

LINE_LENGTH = 100
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _natural(text: str) -> tuple[str | int, ...]:
    """``SPEC_2`` before ``SPEC_10``, as ruff's natural ordering has it."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _member_type(name: str) -> int:
    if len(name) > 1 and name.isupper():
        return 0
    return 1 if name[:1].isupper() else 2


def isort_key(name: str) -> tuple[Any, ...]:
    """The order RUF022 gives ``__all__``: CONSTANTS, then Classes, then the rest, each
    in case-sensitive natural order."""
    return (_member_type(name), _natural(name))


def import_key(name: str) -> tuple[Any, ...]:
    """The order ruff's isort gives the names of one ``from … import``: grouped as for
    :func:`isort_key`, but case-insensitive within a group (``Ab`` before ``ARequest``)."""
    return (_member_type(name), _natural(name.lower()), _natural(name))


class Verbatim(str):
    """Source text to write as it is: a name defined elsewhere in the module."""


def names_in(value: Any) -> set[str]:
    """The class names :func:`literal` will write for ``value``: what to import."""
    found: set[str] = set()
    if isinstance(value, (enum.Enum, msgspec.Struct)):
        found.add(type(value).__name__)
    if isinstance(value, msgspec.Struct):
        for _, v in _struct_items(value):
            found |= names_in(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            found |= names_in(k) | names_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= names_in(v)
    return found


def string(text: str) -> str:
    """A Python string literal for ``text``, quoted the way ruff prefers.

    Double quotes unless the text holds more double than single quotes; every
    backslash, quote of the chosen kind, control and non-printable character escaped.
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    if text.isprintable():  # the common case, at C speed: only \\ and the quote to escape
        return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])  # \x.., \u...., \U........ as Python writes them
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def docstring(text: str, indent: int) -> str:
    """A triple-quoted docstring for free text from a spec, wrapped to the line length.

    Docstrings are for reading, so whitespace is collapsed and other non-printable
    characters dropped; the exact text always also reaches the code as data through
    :func:`string`. The result is already in the form ``ruff format`` gives it.
    """
    visible = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    words = " ".join(visible.replace("\\", "\\\\").split()).replace('"""', '\\"\\"\\"')
    if words.endswith('"') and (len(words) - len(words[:-1].rstrip("\\"))) % 2:
        words = words[:-1] + '\\"'  # an unescaped quote would run into the closing ones
    if words.startswith('"') or not words:
        words = " " + words  # as ruff format pads a docstring that opens with a quote
    pad = " " * indent
    if len(pad) + len(words) + 6 <= LINE_LENGTH:
        return f'{pad}"""{words}"""'
    first, *rest = textwrap.wrap(
        words, LINE_LENGTH - indent - 3, break_long_words=False, break_on_hyphens=False
    )
    if not rest:  # ruff format keeps one line of text on one line, however long
        return f'{pad}"""{words}"""'
    body = "\n".join([first, *(pad + line for line in rest)])
    return f'{pad}"""{body}\n{pad}"""'


def width(text: str) -> int:
    """The columns ``text`` takes as ruff measures a line: an East Asian wide or
    full-width character (``请``) takes two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def literal(value: Any, indent: int = 0, prefix: int = 0, suffix: int = 0) -> str:
    """Source for ``value``; ``prefix``/``suffix`` are the columns taken on its first/last
    line by what surrounds it (``name = `` before, ``,`` after)."""
    return _Writer().literal(value, indent, prefix, suffix)


class _Writer:
    """One :func:`literal` call. Each value's one-line form is made once and kept (by
    ``id``: every value stays alive for the call), where laying out each level anew
    would write every nested value once per level above it."""

    def __init__(self) -> None:
        self.flats: dict[int, str] = {}

    def flat(self, value: Any) -> str:
        key = id(value)
        text = self.flats.get(key)
        if text is None:
            text = self.flats[key] = _flat(value, self.flat)
        return text

    def literal(self, value: Any, indent: int, prefix: int, suffix: int) -> str:
        flat = self.flat(value)
        if indent + prefix + width(flat) + suffix <= LINE_LENGTH or not _explodable(value):
            return flat
        pad = " " * (indent + 4)
        if isinstance(value, msgspec.Struct):
            items = [
                f"{pad}{name}={self.literal(v, indent + 4, len(name) + 1, 1)},"
                for name, v in _struct_items(value)
            ]
            return f"{type(value).__name__}(\n" + "\n".join(items) + f"\n{' ' * indent})"
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                key = self.flat(k)
                items.append(f"{pad}{key}: {self.literal(v, indent + 4, len(key) + 2, 1)},")
            return "{\n" + "\n".join(items) + f"\n{' ' * indent}}}"
        items = [f"{pad}{self.literal(v, indent + 4, 0, 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{' ' * indent}]"


def call(func: str, args: list[str], indent: int, prefix: int = 0, suffix: int = 0) -> str:
    """``func(args...)`` on one line when it fits, else one argument per line."""
    flat = f"{func}({', '.join(args)})"
    if not args or indent + prefix + width(flat) + suffix <= LINE_LENGTH:
        return flat
    pad = " " * (indent + 4)
    return f"{func}(\n" + "".join(f"{pad}{arg},\n" for arg in args) + " " * indent + ")"


def _explodable(value: Any) -> bool:
    if isinstance(value, msgspec.Struct):
        return bool(_struct_items(value))
    return isinstance(value, (dict, list)) and bool(value)


_REQUIRED = object()  # a field without a default: always written


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    """Each field's name and default (a factory's value made once), in declaration order.

    msgspec.structs.fields resolves the class's annotations on every call: the largest
    part of `generate`'s time when asked once per struct written."""
    out = []
    for field in msgspec.structs.fields(cls):
        default = field.default
        if field.required:
            default = _REQUIRED
        elif default is msgspec.NODEFAULT:
            default = field.default_factory()
        out.append((field.name, default))
    return tuple(out)


def _struct_items(value: msgspec.Struct) -> list[tuple[str, Any]]:
    """The fields that differ from their defaults, in declaration order."""
    items = []
    for name, default in _fields(type(value)):
        v = getattr(value, name)
        if default is _REQUIRED or v != default:
            items.append((name, v))
    return items


def _flat(value: Any, flat: Callable[[Any], str] | None = None) -> str:
    """``value`` on one line; ``flat`` writes the values inside it (default: itself)."""
    inner = flat or _flat
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, msgspec.Struct):
        args = ", ".join(f"{name}={inner(v)}" for name, v in _struct_items(value))
        return f"{type(value).__name__}({args})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{inner(k)}: {inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inner(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as Python source")
