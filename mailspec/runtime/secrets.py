"""Credentials that never show: not in repr, str, logs or error messages."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MIN_REDACTED", "Secret", "redact"]

MIN_REDACTED = 4


class Secret:
    """A credential. ``reveal()`` is the only way to read it, and only the wire does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError("a credential must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:  # pickling would carry the value out
        raise TypeError("credentials cannot be pickled")


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every credential value replaced by ``***`` (a provider may echo one).

    Values shorter than :data:`MIN_REDACTED` are left alone: replacing every ``x`` in a
    message would destroy it, and no real credential is that short.
    """
    for secret in secrets:
        value = secret.reveal()
        if len(value) >= MIN_REDACTED and value in text:
            text = text.replace(value, "***")
    return text
