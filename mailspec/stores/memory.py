"""``memory://``: the in-process default."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from .base import check_ttl

__all__ = ["MemoryStore"]


class MemoryStore:
    """A dict behind one lock. Shared by every thread that uses the Mailer (or several
    Mailers, if you pass the same instance); gone with the process.

    Expiry is measured on ``clock`` (default ``time.time``); an expired record reads as
    absent at once, and every write drops the records that have expired (in order of
    expiry, from a heap: a write costs the same with a million records kept).
    """

    shared = False  # no other process sees it

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float | None]] = {}  # key -> (record, expires at)
        self._expiries: list[tuple[float, str]] = []  # (expires at, key), a heap
        self._clock = clock

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
                expires = None if ttl is None else now + ttl
                self._data[key] = (new, expires)
                if expires is not None:
                    heapq.heappush(self._expiries, (expires, key))
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
        """Drop the records whose expiry has passed; a heap entry whose record was
        rewritten since (another expiry, or none) is only discarded."""
        heap = self._expiries
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            held = self._data.get(key)
            if held is not None and held[1] == at:
                del self._data[key]

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._data)} records>"
