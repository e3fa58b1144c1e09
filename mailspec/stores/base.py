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

A store may also change a record as an object, under its own lock
(:class:`ChangesRecords`): the in-process store does, so that a read-modify-write there
costs no JSON at all. :func:`update` uses that where a store offers it, and
compare-and-set everywhere else, with the same outcome.

The Mailer's store calls (:func:`transact`'s, the ledger's) go through :func:`read`,
:func:`swap` and :func:`update`, which make them as they are, or, in a context where :func:`calls_through`
set a runner (an :class:`~mailspec.AsyncMailer`'s send), through that runner: there, in
a thread, so that a store that waits (a SQLite lock, a Redis pause) does not stop the
event loop. Each call is still one call of the store's, as atomic as the store makes
it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

import msgspec

from ..errors import ValidationError

__all__ = [
    "KEEP",
    "ChangesRecords",
    "Codec",
    "Runner",
    "StateStore",
    "calls_through",
    "check_seconds",
    "check_ttl",
    "read",
    "swap",
    "transact",
    "update",
]

S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")
R = TypeVar("R")

KEEP: Any = object()
"""What a change returns for "leave the record as it is": nothing is written."""


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


class Codec(Generic[T]):
    """How one kind of record is written as bytes and read back: ``decode`` turns what
    cannot be read (another version's record, a damaged one) into a value of its own
    choosing rather than raising. Made once per kind of record: a store that keeps
    records as objects hands one back only to the codec that wrote it."""

    def __init__(self, decode: Callable[[bytes], T], encode: Callable[[T], bytes]) -> None:
        self.decode, self.encode = decode, encode


Change = Callable[[T | None], tuple[Any, R, float | None]]
"""Given the record (None: absent), what to write — a new record, None to delete, or
:data:`KEEP` — the result to return, and the new record's ``ttl``."""


@runtime_checkable
class ChangesRecords(Protocol):
    """A store that makes a read-modify-write of one record atomic by itself, the record
    an object: ``change`` runs under the store's lock, on the object written last
    (decoded with ``codec`` when it was written as bytes), and its new record is kept as
    it is. Records kept thus must never be changed in place (frozen Structs, lists
    never appended to); :meth:`StateStore.get` still reads them as ``codec`` encodes
    them."""

    def change_record(self, key: str, codec: Codec[T], change: Change[T, R]) -> R: ...


def update(store: StateStore, key: str, codec: Codec[T], change: Change[T, R]) -> R:
    """One atomic read-modify-write of the record under ``key``: ``change`` is given the
    record (None where absent) and returns what to write (a record, None to delete it,
    or :data:`KEEP`), the result, and the ``ttl`` of what it writes. In a store that
    :class:`ChangesRecords`, one call under its lock; in any other, a read and a
    compare-and-set, from a fresh read when another writer came first, so ``change``
    must be pure: it may run more than once."""
    # looked up, not isinstance(): a runtime Protocol check costs more than the change
    change_record = getattr(store, "change_record", None)
    if change_record is not None:
        runner = _RUNNER.get()
        if runner is None:
            return cast("R", change_record(key, codec, change))
        return cast("R", runner(partial(change_record, key, codec, change)))
    while True:
        raw = read(store, key)
        new, result, ttl = change(None if raw is None else codec.decode(raw))
        if new is KEEP:
            return result
        if new is None:
            written = swap(store, key, raw, None)
        else:
            written = swap(store, key, raw, codec.encode(new), ttl)
        if written:
            return result


def check_seconds(value: object, field: str) -> float:
    """``value`` as a float; a ValidationError on ``field`` unless it is a positive,
    finite number of seconds."""
    if type(value) is float and 0.0 < value < math.inf:
        return value  # the common case, in one test
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

    def changed(held: S | None) -> tuple[Any, R, float | None]:
        current = default if held is None else held
        new, result = change(current)
        return (KEEP if new == current else new), result, ttl

    return update(store, key, _codec(kind), changed)


@functools.cache
def _codec(kind: type[S]) -> Codec[S | None]:
    """The JSON of ``kind``; a record that cannot be read (another version wrote it, or
    it was damaged) reads as absent, so that :func:`transact` replaces it with the
    default rather than wedging every send: at worst a breaker closes early."""
    decoder = msgspec.json.Decoder(kind)

    def decode(raw: bytes) -> S | None:
        try:
            return decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    return Codec(decode, msgspec.json.encode)
