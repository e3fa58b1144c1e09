"""``sqlite:///PATH``: one machine, many processes, and it survives ``kill -9``.

One table, ``mailspec_state(key, value, expires_at)``, in a file of the standard
library's SQLite:

- WAL journal, ``synchronous=FULL``: a committed write is in the file before
  ``compare_and_set`` returns, so neither a killed process nor a machine losing power
  loses it, and readers never wait for a writer.
- :meth:`SqliteStore.compare_and_set` is one ``BEGIN IMMEDIATE`` transaction (read,
  compare, write, commit): it takes the database's write lock first, so two processes
  can never both see the old record and both write.
- A busy timeout (``timeout``, default 5 s; ``?timeout=`` in the URL) lets a writer wait
  for another's transaction instead of failing at once; past it,
  :class:`~mailspec.StoreError`.
- One connection per thread (and per process: a forked child opens its own, as SQLite
  requires), so threads never share a connection's transaction.

The file must be on a local file system: WAL shares memory between the processes
that open it, which a network file system cannot carry.

Expiry is on this process's wall clock (``time.time``): an expired row reads as absent
and is deleted by a sweep when the store opens and every 1,024 writes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

from ..errors import StoreError
from .base import check_seconds, check_ttl

__all__ = ["SqliteStore"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0
_SWEEP_EVERY = 1024

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS mailspec_state ("
    "key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL) WITHOUT ROWID"
)
_READ = "SELECT value, expires_at FROM mailspec_state WHERE key = ?"
_WRITE = (
    "INSERT INTO mailspec_state (key, value, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
_DELETE = "DELETE FROM mailspec_state WHERE key = ?"
_SWEEP = "DELETE FROM mailspec_state WHERE expires_at IS NOT NULL AND expires_at <= ?"


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the C type cannot), so the store can
    close the ones still alive without keeping a dead thread's alive, and that knows
    the process that opened it (a forked child must not close its parent's)."""

    pid: int


class SqliteStore:
    """State in a SQLite file, shared by every thread and process that opens it.

    The file is opened (and created, with its table) when the store is built, so a path
    that cannot be opened fails here, with a StoreError, rather than in a send.
    """

    shared = True  # other processes on this machine see its records

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.timeout = check_seconds(timeout, "timeout")
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._generation = 0  # bumped by close(): every thread then opens afresh
        self._writes = 0
        self._run(lambda c: c.execute(_SWEEP, (self._clock(),)))

    def __repr__(self) -> str:
        return f"<SqliteStore {self.path!r}>"

    # --- the StateStore interface ---------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        def read(conn: sqlite3.Connection) -> bytes | None:
            return _live(conn.execute(_READ, (key,)).fetchone(), self._clock())

        return self._run(read)

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        ttl = check_ttl(ttl)

        def swap(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")  # the write lock first: nobody writes between
            try:
                now = self._clock()
                if _live(conn.execute(_READ, (key,)).fetchone(), now) != expected:
                    conn.execute("ROLLBACK")
                    return False
                if new is None:
                    conn.execute(_DELETE, (key,))
                else:
                    conn.execute(_WRITE, (key, new, None if ttl is None else now + ttl))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            return True

        done = self._run(swap)
        if done:
            with self._lock:
                self._writes += 1
                sweep = self._writes % _SWEEP_EVERY == 0
            if sweep:
                self._run(lambda c: c.execute(_SWEEP, (self._clock(),)))
        return done

    # --- connections ----------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection this process opened; the store opens new ones if it is
        used again."""
        with self._lock:
            self._generation += 1
            connections = [c for c in self._open if c.pid == os.getpid()]
            self._open.clear()
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connection())
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == (os.getpid(), self._generation):
            conn: sqlite3.Connection = held[1]
            return conn
        conn = self._connect()
        self._local.held = ((os.getpid(), self._generation), conn)
        return conn

    def _connect(self) -> _Connection:
        # a new file's first opener turns on WAL and creates the table; several processes
        # opening at once may find it locked a moment, so retry within the busy timeout
        deadline = time.monotonic() + self.timeout
        while True:
            conn = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,  # autocommit: transactions are begun explicitly
                check_same_thread=False,  # close() may run on any thread
                factory=_Connection,
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(_SCHEMA)
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            conn.pid = os.getpid()
            with self._lock:
                self._open.add(conn)
            return conn

    def _error(self, exc: sqlite3.Error) -> StoreError:
        what = str(exc) or type(exc).__name__
        if "unable to open" in what:
            what += " (does its folder exist, and may this process write there?)"
        return StoreError(f"sqlite store {self.path}", what)


def _live(row: tuple[bytes, float | None] | None, now: float) -> bytes | None:
    if row is None:
        return None
    value, expires = row
    if expires is not None and expires <= now:
        return None
    return bytes(value)
