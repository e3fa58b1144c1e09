"""``memory://``: the in-process default."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..errors import ValidationError
from .base import KEEP, Change, Codec, check_ttl

T = TypeVar("T")
R = TypeVar("R")

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

    Records changed with :meth:`change_record` (the ledger's, the breakers') are kept as
    the objects written, so that a read-modify-write costs no JSON: :meth:`get` and
    :meth:`compare_and_set` see them as bytes, as their codec encodes them.
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
        # key -> (record, expires at): the record as bytes, or as the object written
        self._data: dict[str, tuple[bytes | _Held[Any], float | None]] = {}
        self._expiries: list[tuple[float, str]] = []  # (expires at, key), a heap
        self._expiring = 0  # records in _data with an expiry
        self._clock = clock
        self.max_records = max_records

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return _bytes(self._live(key, self._clock()))

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        ttl = check_ttl(ttl)
        with self._lock:
            now = self._clock()
            if _bytes(self._live(key, now)) != expected:
                return False
            self._write(key, new, ttl, now)
            return True

    def change_record(self, key: str, codec: Codec[T], change: Change[T, R]) -> R:
        """One read-modify-write under the lock, the record an object (see
        :class:`~mailspec.stores.base.ChangesRecords`)."""
        with self._lock:
            now = self._clock()
            held = self._live(key, now)
            if held is None:
                current = None
            elif isinstance(held, _Held) and held.codec is codec:
                current = held.value
            else:  # written as bytes, or by another codec
                current = codec.decode(_bytes(held) or b"")
            new, result, ttl = change(current)
            if new is not KEEP:
                record = None if new is None else _Held(new, codec)
                self._write(key, record, check_ttl(ttl), now)
            return result

    def _write(
        self, key: str, record: bytes | _Held[Any] | None, ttl: float | None, now: float
    ) -> None:
        self._drop(key)
        if record is not None:
            expires = None if ttl is None else now + ttl
            self._data[key] = (record, expires)
            if expires is not None:
                self._expiring += 1
                heapq.heappush(self._expiries, (expires, key))
        self._sweep(now)

    def _live(self, key: str, now: float) -> bytes | _Held[Any] | None:
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


class _Held(Generic[T]):
    """A record kept as the object written, with the codec that reads and writes it;
    its bytes are encoded once, when first asked for."""

    __slots__ = ("_raw", "codec", "value")

    def __init__(self, value: T, codec: Codec[T]) -> None:
        self.value, self.codec = value, codec
        self._raw: bytes | None = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.codec.encode(self.value)
        return self._raw


def _bytes(record: bytes | _Held[Any] | None) -> bytes | None:
    return record.raw() if isinstance(record, _Held) else record
