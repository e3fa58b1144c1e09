"""``memory://``: the in-process default."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from ..errors import ValidationError
from .base import check_ttl

__all__ = ["DEFAULT_MAX_RECORDS", "MemoryStore"]


DEFAULT_MAX_RECORDS = 10_000


class MemoryStore:
    """A dict behind one lock. Shared by every thread that uses the Mailer (or several
    Mailers, if you pass the same instance); gone with the process.

    Expiry is measured on ``clock`` (default ``time.time``); an expired record reads as
    absent at once, and every write drops the records that have expired (in order of
    expiry, from a heap).

    At most ``max_records`` records that expire are kept (default 10,000): the ledger
    writes one per send and keeps it for days, which in one process would grow without
    bound. Past the bound, the records closest to their expiry are forgotten first, so
    a key sent long ago is no longer replayed; records that never expire (breakers,
    rate limits, pauses) are neither counted nor dropped. Use ``sqlite://`` or
    ``redis://`` for a ledger that keeps every key for its whole retention.
    """

    shared = False  # no other process sees it

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        max_records: int = DEFAULT_MAX_RECORDS,
    ) -> None:
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise ValidationError(
                f"expected a whole number from 1, got {max_records!r}", field="max_records"
            )
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float | None]] = {}  # key -> (record, expires at)
        self._expiries: list[tuple[float, str]] = []  # (expires at, key), a heap
        self._expiring = 0  # records in _data with an expiry
        self._clock = clock
        self.max_records = max_records

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
            self._drop(key)
            if new is not None:
                expires = None if ttl is None else now + ttl
                self._data[key] = (new, expires)
                if expires is not None:
                    self._expiring += 1
                    heapq.heappush(self._expiries, (expires, key))
            self._sweep(now)
            return True

    def _live(self, key: str, now: float) -> bytes | None:
        held = self._data.get(key)
        if held is None:
            return None
        record, expires = held
        if expires is not None and expires <= now:
            self._drop(key)
            return None
        return record

    def _drop(self, key: str) -> None:
        held = self._data.pop(key, None)
        if held is not None and held[1] is not None:
            self._expiring -= 1

    def _sweep(self, now: float) -> None:
        """Drop the records whose expiry has passed, then the soonest to expire while
        there are more than ``max_records``; a heap entry whose record was rewritten
        since (another expiry, or none) is only discarded."""
        heap = self._expiries
        while heap and (heap[0][0] <= now or self._expiring > self.max_records):
            at, key = heapq.heappop(heap)
            held = self._data.get(key)
            if held is not None and held[1] == at:
                self._drop(key)
        if len(heap) > 2 * self._expiring + 64:
            # mostly entries of records rewritten since (a claim, then its outcome):
            # rebuilt from the records, so the heap stays the size of what it orders
            self._expiries = [(at, k) for k, (_, at) in self._data.items() if at is not None]
            heapq.heapify(self._expiries)

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._data)} records>"
