"""``memory://``: the in-process default."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .base import check_ttl

__all__ = ["MemoryStore"]

_SWEEP_EVERY = 1024  # writes between two sweeps of expired records


class MemoryStore:
    """A dict behind one lock. Shared by every thread that uses the Mailer (or several
    Mailers, if you pass the same instance); gone with the process.

    Expiry is measured on ``clock`` (default ``time.time``); an expired record reads as
    absent at once and is dropped from memory on the next sweep (every 1,024 writes).
    """

    shared = False  # no other process sees it

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float | None]] = {}  # key -> (record, expires at)
        self._clock = clock
        self._writes = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key, self._clock())

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        ttl = check_ttl(ttl)
        with self._lock:
            now = self._clock()
            if self._live(key, now) != expected:
                return False
            if new is None:
                self._data.pop(key, None)
            else:
                self._data[key] = (new, None if ttl is None else now + ttl)
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:
                self._sweep(now)
            return True

    def _live(self, key: str, now: float) -> bytes | None:
        held = self._data.get(key)
        if held is None:
            return None
        record, expires = held
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return record

    def _sweep(self, now: float) -> None:
        expired = [k for k, (_, at) in self._data.items() if at is not None and at <= now]
        for key in expired:
            del self._data[key]

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._data)} records>"
