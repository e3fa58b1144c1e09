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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

from ..errors import ValidationError

__all__ = ["StateStore", "check_seconds", "check_ttl", "transact"]

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
        raw = store.get(key)
        current = default if raw is None else _decode(raw, kind, default)
        new, result = change(current)
        if new == current:
            return result
        encoded = msgspec.json.encode(new)
        # without a ttl, the three-argument call every store has always taken
        done = (
            store.compare_and_set(key, raw, encoded)
            if ttl is None
            else store.compare_and_set(key, raw, encoded, ttl)
        )
        if done:
            return result


def _decode(raw: bytes, kind: type[S], default: S) -> S:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # an unreadable record (another version wrote it, or it was corrupted) is
        # replaced rather than wedging every send: at worst a breaker closes early
        return default
