"""One sanitizer for every identifier that comes from a spec.

The generator names classes, fields and enum members with it, and the runtime finds a
request field's attribute with it, so the two can never disagree.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

__all__ = ["Scope", "ascii_fold", "ident"]

_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
# modules the generated models import: a field of that name would shadow one in its class
_RESERVED |= frozenset({"datetime", "msgspec"})
_NOT_WORD = re.compile(r"[^0-9A-Za-z_]+")


def ident(text: str, *, upper: bool = False) -> str:
    """A valid, non-reserved Python identifier for ``text``.

    Non-ASCII letters are folded to ASCII where they decompose (``é`` → ``e``), other
    runs of non-word characters become ``_``, a leading digit gets a ``n`` prefix, and a
    keyword, soft keyword, builtin name or a module the generated code imports
    (``msgspec``, ``datetime``) gets a ``_`` suffix.
    """
    name = _NOT_WORD.sub("_", ascii_fold(text)).strip("_") or "field"
    if upper:
        name = name.upper()
    if name[0].isdigit():
        name = ("N" if upper else "n") + name
    if name in _RESERVED:
        name += "_"
    return name


def ascii_fold(text: str) -> str:
    """``text`` in ASCII: letters that decompose lose their accents (``é`` → ``e``), the
    rest of the non-ASCII characters are dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


class Scope:
    """Hands out distinct identifiers within one namespace (a class body, a module).

    The first claimant of a name keeps it; later ones get ``_2``, ``_3``… in the order
    they ask, which the generator keeps deterministic by asking in a sorted order.
    """

    def __init__(self, taken: frozenset[str] = frozenset()) -> None:
        self._taken: set[str] = set(taken)

    def claim(self, text: str, *, upper: bool = False) -> str:
        base = ident(text, upper=upper)
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        return name
