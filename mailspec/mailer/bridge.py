"""Sync code run on the event loop, each of its waits awaited: the one mechanism that
lets :class:`~mailspec.AsyncMailer` be the :class:`~mailspec.Mailer`, not a copy of it.

:func:`run` starts a function in a greenlet (a call stack of its own, on the loop's
thread; no thread is made) and, each time the function calls :func:`wait` with an
awaitable, switches back to the calling coroutine, which awaits it on the loop while
other tasks run, and resumes the function with the result, or with the exception it
raised (a cancellation included). This is how SQLAlchemy's asyncio support runs its
sync core.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

__all__ = ["inside", "run", "wait"]

T = TypeVar("T")


class _Bridged(greenlet):  # type: ignore[misc]  # greenlet ships no type information
    """A greenlet started by :func:`run`: :func:`wait` may switch out of it."""


async def run(function: Callable[[], T], context: contextvars.Context) -> T:
    """``function()``, run in ``context``, its :func:`wait` calls awaited here."""
    child = _Bridged(function)
    child.gr_context = context
    pending: Any = child.switch()
    while not child.dead:
        try:
            result = await pending
        except BaseException as exc:  # the function decides, a CancelledError too
            pending = child.throw(exc)
        else:
            pending = child.switch(result)
    return cast(T, pending)


def inside() -> bool:
    """Whether this code runs in a function :func:`run` started (so it may :func:`wait`)."""
    return isinstance(getcurrent(), _Bridged)


def wait(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, awaited by the coroutine that :func:`run` this
    function; a RuntimeError outside one."""
    current = getcurrent()
    if not isinstance(current, _Bridged):
        raise RuntimeError("mailspec.mailer.bridge.wait() called outside bridge.run()")
    return cast(T, current.parent.switch(awaitable))
