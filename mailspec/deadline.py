"""The time a send must end by, as the transports see it.

A :class:`~mailspec.Mailer` runs each attempt inside :func:`within` its remaining
deadline; the HTTP transport reads :func:`current` when a request starts and ends the
request by then, whatever the server does (a trickled answer resets a socket timeout
with every byte, so only a wall-clock bound stops it).

A context variable rather than an argument: a provider's ``send()`` takes a message
and nothing else, and the Mailer calls it in the caller's thread (an asyncio path, in
the caller's task). A context variable follows both, and no other thread or task sees
it. The time is absolute, on :func:`time.monotonic`'s clock, whatever clock the Mailer
was given (it passes the seconds it has left). Kept at the package root, without
imports, so that the Mailer does not import the HTTP runtime.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

__all__ = ["current", "within"]

_DEADLINE: ContextVar[float | None] = ContextVar("mailspec_deadline", default=None)


class within:  # a context manager, named as the function it replaced
    """Requests made inside end within ``seconds`` from now (from entering it), or by an
    earlier deadline already set around this one (a nested bound never extends an
    outer one). A class rather than a generator: it is entered on every attempt."""

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __enter__(self) -> None:
        at = time.monotonic() + max(0.0, self._seconds)
        outer = _DEADLINE.get()
        self._token = _DEADLINE.set(at if outer is None else min(at, outer))

    def __exit__(self, *exc_info: object) -> None:
        _DEADLINE.reset(self._token)


def current() -> float | None:
    """The deadline set around this call (a :func:`time.monotonic` time), or None."""
    return _DEADLINE.get()
