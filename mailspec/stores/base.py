"""The interface every store offers, and the one helper built on it.

The interface is deliberately tiny — read a small record, and replace it only if nobody
changed it since (compare-and-set) — because that is what every shared store offers
cheaply: Redis (a short Lua script), SQLite (a write transaction), memcached (``cas``),
a SQL row with a version column, etcd. Nothing here needs a lock that spans a network
call, so a worker dying mid-send cannot wedge the others.

Records are bytes (msgspec JSON of small Structs), so a store needs no knowledge of
their shape, and a human reading Redis sees ``{"failures":3,"opened_at":null,...}``.

A record may be given an expiry (``ttl``, seconds from the write): after it, the key
reads as absent. Each store measures it on its own clock: Redis on the server's (``SET
... PX``), SQLite and the in-process store on the wall clock (``time.time``) of the
process reading. Expiry is for housekeeping — ledger outcomes kept for a retention
period — never for deciding who owns something: a lease is a time inside the record,
compared with the caller's clock (see :mod:`mailspec.mailer.ledger`).

A store shared by several processes or machines must be read against a clock they
share: a :class:`~mailspec.Mailer` given one (a store whose ``shared`` attribute is
true) uses ``time.time`` unless told otherwise, since ``time.monotonic`` has a different
zero in every process.

The Mailer's store calls (:func:`transact`'s, the ledger's) go through :func:`read` and
:func:`swap`, which make them as they are, or, in a context where :func:`calls_through`
set a runner (an :class:`~mailspec.AsyncMailer`'s send), through that runner: there, in
a thread, so that a store that waits (a SQLite lock, a Redis pause) does not stop the
event loop. Each call is still one call of the store's, as atomic as the store makes
it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

import msgspec

from ..errors import ValidationError

__all__ = [
    "Runner",
    "StateStore",
    "calls_through",
    "check_seconds",
    "check_ttl",
    "read",
    "swap",
    "transact",
]

S = TypeVar("S", bound=msgspec.Struct)
R = TypeVar("R")


@runtime_checkable
class StateStore(Protocol):
    """Small records keyed by strings such as ``breaker:aurorasendcloud``.

    Implementations must make :meth:`compare_and_set` atomic: it writes ``new`` only if
    the key currently holds exactly ``expected`` (``None``: the key is absent or has
    expired), and says whether it did. ``new=None`` deletes the key. ``ttl`` (seconds)
    makes the written record expire that long after the write; without it the record
    keeps until replaced (a write without ``ttl`` also clears an earlier expiry).

    A store may also have a ``shared`` attribute: true when other processes see its
    records (the Mailer then defaults to the wall clock). Stores that predate ``ttl``
    and deletion still serve breakers and limiters, which use neither; the ledger
    needs both.
    """

    def get(self, key: str) -> bytes | None:
        """The record stored under ``key``, or None (absent or expired)."""
        ...

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        """Store ``new`` under ``key`` (delete it, for None) if it still holds
        ``expected``; True if done."""
        ...


Runner = Callable[[Callable[[], Any]], Any]
"""Makes a store call: ``runner(call)`` returns what ``call()`` returns, or raises what
it raises."""

_RUNNER: ContextVar[Runner | None] = ContextVar("mailspec_store_runner", default=None)


def calls_through(runner: Runner) -> None:
    """Have every store call made in the current context (through :func:`read` and
    :func:`swap`) made by ``runner``. Meant for a context of its own
    (``contextvars.copy_context().run(calls_through, runner)``): nothing outside it
    changes."""
    _RUNNER.set(runner)


def read(store: StateStore, key: str) -> bytes | None:
    """``store.get(key)``, made by the runner :func:`calls_through` set, if any."""
    runner = _RUNNER.get()
    if runner is None:
        return store.get(key)
    return cast("bytes | None", runner(partial(store.get, key)))


def swap(
    store: StateStore, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
) -> bool:
    """``store.compare_and_set(key, expected, new, ttl)``, made by the runner
    :func:`calls_through` set, if any. Without a ``ttl``, the three-argument call every
    store has always taken."""
    runner = _RUNNER.get()
    if runner is None:
        if ttl is None:
            return store.compare_and_set(key, expected, new)
        return store.compare_and_set(key, expected, new, ttl)
    if ttl is None:
        return bool(runner(partial(store.compare_and_set, key, expected, new)))
    return bool(runner(partial(store.compare_and_set, key, expected, new, ttl)))


def check_seconds(value: object, field: str) -> float:
    """``value`` as a float; a ValidationError on ``field`` unless it is a positive,
    finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"expected seconds, got {type(value).__name__}", field=field)
    if not math.isfinite(value) or value <= 0:
        raise ValidationError("must be a positive, finite number of seconds", field=field)
    return float(value)


def check_ttl(ttl: object) -> float | None:
    """``ttl`` as a float, or None; a ValidationError unless a positive finite number."""
    return None if ttl is None else check_seconds(ttl, "ttl")


def transact(
    store: StateStore,
    key: str,
    kind: type[S],
    default: S,
    change: Callable[[S], tuple[S, R]],
    *,
    ttl: float | None = None,
) -> R:
    """Read the record under ``key`` (``default`` when absent), let ``change`` compute
    the new record and a result, and write it with compare-and-set (expiring after
    ``ttl`` seconds, when given), retrying from a fresh read when another thread or
    process got there first. ``change`` must be pure: it may run more than once. An
    unchanged record is not written."""
    while True:
        raw = read(store, key)
        current = default if raw is None else _decode(raw, kind, default)
        new, result = change(current)
        if new == current:
            return result
        if swap(store, key, raw, msgspec.json.encode(new), ttl):
            return result


def _decode(raw: bytes, kind: type[S], default: S) -> S:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # an unreadable record (another version wrote it, or it was corrupted) is
        # replaced rather than wedging every send: at worst a breaker closes early
        return default
