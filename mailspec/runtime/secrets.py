"""Credentials that never show: not in repr, str, logs or error messages."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MIN_REDACTED", "Concealed", "Secret", "live_secrets", "redact", "wire_forms"]

MIN_REDACTED = 4

# every Secret alive in the process, for the log filter (mailspec.runtime.logfilter)
_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


class Secret:
    """A credential. ``reveal()`` is the only way to read it, and only the wire does."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError("a credential must be a non-empty string")
        self._value = value
        with _LIVE_LOCK:
            _LIVE.add(self)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:  # pickling would carry the value out
        raise TypeError("credentials cannot be pickled")


class Concealed(str):
    """A string that holds credentials (a provider or store URL in a setting): the
    string itself everywhere, but its repr shows the scheme only (``'redis://***'``).

    Error reports print values by their repr (Django's debug page and its error mail
    list every setting and the variables of each frame), and a setting must stay a
    string for the code that reads it, so the string cannot be a :class:`Secret`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        scheme, separator, _ = self.partition("://")
        return repr(f"{scheme}://***" if separator else "***")


def wire_forms(value: str) -> set[str]:
    """``value`` as it may travel, and so be echoed back: as is, and percent-encoded as
    a URL path or query (``quote``) or a form (``quote_plus``) carries it."""
    return {value, quote(value, safe=""), quote_plus(value)}


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every credential value, in each of its :func:`wire_forms`,
    replaced by ``***`` (a provider may echo one).

    Values shorter than :data:`MIN_REDACTED` are left alone: replacing every ``x`` in a
    message would destroy it, and no real credential is that short.
    """
    forms: set[str] = set()
    for secret in secrets:
        value = secret.reveal()
        if len(value) >= MIN_REDACTED:
            forms |= wire_forms(value)
    for form in sorted(forms, key=len, reverse=True):  # longest first: no partial leftovers
        if form in text:
            text = text.replace(form, "***")
    return text


def live_secrets() -> list[Secret]:
    """Every Secret not yet garbage-collected (a snapshot)."""
    with _LIVE_LOCK:
        return list(_LIVE)
