"""Sync code run on the event loop, each of its waits awaited: the one mechanism that
lets :class:`~mailspec.AsyncMailer` be the :class:`~mailspec.Mailer`, not a copy of it.

:func:`run` starts a function in a greenlet (a call stack of its own, on the loop's
thread; no thread is made) and, each time the function calls :func:`wait` with an
awaitable, switches back to the calling coroutine, which awaits it on the loop while
other tasks run, and resumes the function with the result, or with the exception it
raised (a cancellation included). This is how SQLAlchemy's asyncio support runs its
sync core.

A blocking call that has no awaitable form (a store's SQLite transaction, a Redis
round trip) goes through :func:`offload`: it runs in a thread of a bounded pool
while the loop goes on. It is never interrupted half-way, as the sync code could not
be: a cancellation that comes meanwhile waits for the call to finish and is thrown at
the function's next :func:`wait`, so that a write the store made is never taken for
one it did not.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

__all__ = ["inside", "offload", "run", "wait"]

T = TypeVar("T")


class _Bridged(greenlet):  # type: ignore[misc]  # greenlet ships no type information
    """A greenlet started by :func:`run`: :func:`wait` may switch out of it."""


@dataclass(frozen=True)
class _Offloaded:
    """What :func:`offload` hands the coroutine: a call to run in a thread."""

    call: Callable[[], Any]
    threads: Executor


async def run(function: Callable[[], T], context: contextvars.Context) -> T:
    """``function()``, run in ``context``, its :func:`wait` and :func:`offload` calls
    awaited here. A cancellation that comes during an offloaded call is held until the
    call has finished, then thrown at the next :func:`wait` (or raised here, should the
    function end first)."""
    child = _Bridged(function)
    child.gr_context = context
    held: asyncio.CancelledError | None = None
    try:
        pending: Any = child.switch()
        while not child.dead:
            if isinstance(pending, _Offloaded):
                loop = asyncio.get_running_loop()
                done, cancelled = await _finished(
                    loop.run_in_executor(pending.threads, pending.call)
                )
                held = held or cancelled
                pending = _resume(child, done)
            elif held is not None:
                _discard(pending)
                pending, held = child.throw(held), None
            else:
                try:
                    result = await pending
                except BaseException as exc:  # the function decides, a CancelledError too
                    pending = child.throw(exc)
                else:
                    pending = child.switch(result)
    except BaseException as exc:
        if held is not None:
            raise held from exc  # cancelled: that is what the awaiting task must see
        raise
    if held is not None:
        raise held
    return cast(T, pending)


def inside() -> bool:
    """Whether this code runs in a function :func:`run` started (so it may :func:`wait`)."""
    return isinstance(getcurrent(), _Bridged)


def wait(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, awaited by the coroutine that :func:`run` this
    function; a RuntimeError outside one."""
    return cast(T, _parent().switch(awaitable))


def offload(call: Callable[[], T], threads: Executor) -> T:
    """``call()``, run in a thread of ``threads`` while the coroutine that :func:`run`
    this function awaits it (other tasks run meanwhile); never interrupted half-way
    (see :func:`run`). A RuntimeError outside :func:`run`."""
    return cast(T, _parent().switch(_Offloaded(call, threads)))


def _parent() -> greenlet:
    current = getcurrent()
    if not isinstance(current, _Bridged):
        raise RuntimeError("mailspec.mailer.bridge used outside bridge.run()")
    return current.parent


async def _finished(
    future: asyncio.Future[T],
) -> tuple[asyncio.Future[T], asyncio.CancelledError | None]:
    """``future``, once it has finished, whatever happens to this task meanwhile, and
    the cancellation that came while it ran, if one did (to be thrown later)."""
    cancelled = None
    while not future.done():
        try:
            await asyncio.wait((future,))  # unlike awaiting it, never cancels it
        except asyncio.CancelledError as exc:
            cancelled = exc
    return future, cancelled


def _resume(child: _Bridged, done: asyncio.Future[Any]) -> Any:
    """Resume ``child`` with the result of ``done``, or throw it the exception."""
    try:
        result = done.result()
    except BaseException as exc:
        return child.throw(exc)
    return child.switch(result)


def _discard(awaitable: object) -> None:
    """An awaitable the function will not get to await (a cancellation is thrown in
    its place): a coroutine is closed, so that nothing warns it was never awaited."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
