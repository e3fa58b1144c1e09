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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current", "within"]

_DEADLINE: ContextVar[float | None] = ContextVar("mailspec_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Requests made inside end within ``seconds`` from now, or by an earlier deadline
    already set around this one (a nested bound never extends an outer one)."""
    at = time.monotonic() + max(0.0, seconds)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current() -> float | None:
    """The deadline set around this call (a :func:`time.monotonic` time), or None."""
    return _DEADLINE.get()
