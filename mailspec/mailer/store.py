"""Where the Mailer keeps the state that must be shared: circuit breakers and rate limiters.

The interface is deliberately tiny — read a small record, and replace it only if nobody
changed it since (compare-and-set) — because that is what every shared store offers
cheaply: Redis (``WATCH``/``MULTI`` or a short Lua script), memcached (``cas``), a SQL
row with a version column, etcd. The Mailer never needs a lock that spans a network
call, so a worker dying mid-send cannot wedge the others.

Records are bytes (msgspec JSON of small Structs), so a store needs no knowledge of
their shape, and a human reading Redis sees ``{"failures":3,"opened_at":null,...}``.

A store shared by several processes or machines must be read against a clock they
share: construct the Mailer with ``clock=time.time`` (wall clock) rather than the
default ``time.monotonic``, whose zero differs between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

__all__ = ["MemoryStore", "StateStore", "transact"]

S = TypeVar("S", bound=msgspec.Struct)
R = TypeVar("R")


@runtime_checkable
class StateStore(Protocol):
    """Small records keyed by strings such as ``breaker:aurorasendcloud``.

    Implementations must make :meth:`compare_and_set` atomic: it writes ``new`` only if
    the key currently holds exactly ``expected`` (``None``: the key is absent), and says
    whether it did. Keys may be given an expiry by a shared store; a lost record only
    resets a breaker or refills a bucket, which is safe.
    """

    def get(self, key: str) -> bytes | None:
        """The record stored under ``key``, or None."""
        ...

    def compare_and_set(self, key: str, expected: bytes | None, new: bytes) -> bool:
        """Store ``new`` under ``key`` if it still holds ``expected``; True if stored."""
        ...


class MemoryStore:
    """The in-process default: a dict behind one lock. Shared by every thread that uses
    the Mailer (or several Mailers, if you pass the same instance)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def compare_and_set(self, key: str, expected: bytes | None, new: bytes) -> bool:
        with self._lock:
            if self._data.get(key) != expected:
                return False
            self._data[key] = new
            return True

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._data)} records>"


def transact(
    store: StateStore,
    key: str,
    kind: type[S],
    default: S,
    change: Callable[[S], tuple[S, R]],
) -> R:
    """Read the record under ``key`` (``default`` when absent), let ``change`` compute
    the new record and a result, and write it with compare-and-set, retrying from a
    fresh read when another thread or process got there first. ``change`` must be pure:
    it may run more than once. An unchanged record is not written."""
    while True:
        raw = store.get(key)
        current = default if raw is None else _decode(raw, kind, default)
        new, result = change(current)
        if new == current:
            return result
        if store.compare_and_set(key, raw, msgspec.json.encode(new)):
            return result


def _decode(raw: bytes, kind: type[S], default: S) -> S:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # an unreadable record (another version wrote it, or it was corrupted) is
        # replaced rather than wedging every send: at worst a breaker closes early
        return default
