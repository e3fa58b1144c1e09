"""Where the state that must outlive one send lives — circuit breakers, rate limiters,
pauses and the ledger of idempotency keys — behind one small interface
(:class:`StateStore`: ``get`` and an atomic ``compare_and_set``), chosen by URL:

- ``memory://`` (:class:`~mailspec.stores.memory.MemoryStore`, the default): one
  process; gone when it ends, and bounded (the ledger's most recent 10,000 keys).
- ``sqlite:///PATH`` (:class:`~mailspec.stores.sqlite.SqliteStore`): every process on
  one machine; survives a crash. ``sqlite:///state.db`` is relative to the working
  directory, ``sqlite:////var/lib/app/state.db`` absolute.
- ``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`` (:class:`~mailspec.stores.redis.RedisStore`,
  ``pip install 'mailspec[redis]'``): many machines; the server must keep what it is
  given (no eviction, persistence on), which is checked when it is first used.

Each backend is imported when a URL first asks for it, so ``import mailspec`` loads
neither sqlite3 nor redis-py. See :mod:`mailspec.stores.url` for every option.
"""

from __future__ import annotations

from ..errors import ValidationError
from .base import StateStore, transact
from .memory import MemoryStore

__all__ = ["MemoryStore", "StateStore", "store", "transact"]


def store(url: str) -> StateStore:
    """The store ``url`` names, opened: ``mailspec.store("sqlite:///state.db")``.

    A URL that cannot be one (an unknown scheme, a missing path or host, a bad port or
    option) is a one-line :class:`~mailspec.ValidationError` that never repeats the
    URL's password; a SQLite file that cannot be opened is a
    :class:`~mailspec.StoreError`. A Redis store connects on first use, and then
    refuses a server that may lose records unless ``?durability=warn`` or ``off`` says
    otherwise (see :mod:`mailspec.stores.redis`).
    """
    from .url import MemoryURL, SqliteURL, parse

    target = parse(url)
    if isinstance(target, MemoryURL):
        if target.max_records is None:
            return MemoryStore()
        return MemoryStore(max_records=target.max_records)
    if isinstance(target, SqliteURL):
        from .sqlite import DEFAULT_TIMEOUT, SqliteStore

        return SqliteStore(target.path, timeout=target.timeout or DEFAULT_TIMEOUT)
    try:
        from . import redis as backend
    except ImportError as exc:
        if exc.name != "redis":
            raise
        raise ValidationError(
            "redis:// needs redis-py: pip install 'mailspec[redis]'", field="store"
        ) from None

    return backend.RedisStore(
        target.host,
        target.port,
        target.db,
        username=target.username,
        password=target.password,
        tls=target.tls,
        timeout=target.timeout or backend.DEFAULT_TIMEOUT,
        prefix=target.prefix if target.prefix is not None else backend.DEFAULT_PREFIX,
        durability=target.durability or backend.DEFAULT_DURABILITY,
        retry=target.retry if target.retry is not None else backend.DEFAULT_RETRY,
    )
