"""Store URLs, as :func:`mailspec.store` takes them, read and checked before anything is
opened or connected to.

- ``memory://``; ``?max_records=N`` (the most records that expire it keeps, default
  10,000: see :class:`~mailspec.stores.memory.MemoryStore`)
- ``sqlite:///PATH`` — PATH as written after the third slash, as SQLAlchemy, Django and
  Celery read it: ``sqlite:///state.db`` is relative to the working directory,
  ``sqlite:////var/lib/app/state.db`` absolute; ``?timeout=SECONDS`` (busy timeout).
- ``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`` (``rediss://`` over TLS), port 6379
  and database 0 by default; ``?timeout=SECONDS`` (socket timeout),
  ``?prefix=TEXT`` (put before every key, default ``mailspec:``),
  ``?durability=require|warn|off`` (what to do with a server that may lose records:
  refuse it, the default; log a warning and use it; not check), ``?retry=SECONDS``
  (how long a call is retried while the server is out of reach, default 5; 0: never).

A mistake is one :class:`~mailspec.ValidationError` (``field="store"``) that names it.
An error never repeats the URL or any value from it but the scheme and option names:
a Redis URL may hold a password, and what follows the scheme is where a mistyped one
would be.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from ..errors import ValidationError
from ..runtime.secrets import Secret

__all__ = ["DURABILITY", "EXPECTED", "MemoryURL", "RedisURL", "SqliteURL", "parse"]

EXPECTED = "memory://, sqlite:///PATH or redis://HOST:PORT/DB"

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,15}")
_SQLITE_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"
_REDIS_FORM = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]"
# what a Redis store does with a server that may lose records: refuse it (StoreError),
# log a warning and use it, or not look (mailspec.stores.redis_durability)
DURABILITY = ("require", "warn", "off")


@dataclass(frozen=True)
class MemoryURL:
    """``memory://``, ``?max_records=N``: the most expiring records it keeps."""

    max_records: int | None = None


@dataclass(frozen=True)
class SqliteURL:
    """``sqlite:///PATH``: the file's path as written (relative or absolute)."""

    path: str
    timeout: float | None = None


@dataclass(frozen=True)
class RedisURL:
    """``redis://`` or ``rediss://``; the password is a Secret, never shown."""

    host: str
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    tls: bool = False
    timeout: float | None = None
    prefix: str | None = None
    durability: str | None = None
    retry: float | None = None


def parse(url: object) -> MemoryURL | SqliteURL | RedisURL:
    """The store ``url`` names; a one-line ValidationError for a URL it cannot be."""
    if not isinstance(url, str):
        raise _error(f"expected a store URL string, got {type(url).__name__}")
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise _error(f"not a store URL; expected {EXPECTED}")
    if scheme not in ("memory", "sqlite", "redis", "rediss"):
        shown = f" {scheme!r}" if _SCHEME.fullmatch(scheme) else ""
        raise _error(f"unknown store scheme{shown}; expected {EXPECTED}")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket; its text quotes nothing, but be sure
        raise _error(f"{scheme}:// URL cannot be read (an unclosed '[' in the host?)") from None
    if parts.fragment:
        raise _error(f"a {scheme}:// URL takes no #fragment")
    if scheme == "memory":
        if parts.netloc or parts.path:
            raise _error("memory:// takes no host or path")
        options = _options(scheme, parts.query, {"max_records"})
        return MemoryURL(_count(options, scheme, "max_records"))
    if scheme == "sqlite":
        return _sqlite(parts.netloc, parts.path, _options(scheme, parts.query, {"timeout"}))
    known = {"timeout", "prefix", "durability", "retry"}
    return _redis(scheme, parts, _options(scheme, parts.query, known))


def _sqlite(netloc: str, path: str, options: dict[str, str]) -> SqliteURL:
    if netloc:
        raise _error(f"a sqlite:// URL takes no host: {_SQLITE_FORMS}")
    file = unquote(path[1:]) if path.startswith("/") else ""
    if not file:
        raise _error(f"missing path: {_SQLITE_FORMS}")
    if file == ":memory:":
        raise _error("sqlite:///:memory: would be a new database per thread; use memory://")
    if file.endswith("/"):
        raise _error(f"the path names a folder, not a file: {_SQLITE_FORMS}")
    if "\x00" in file:
        raise _error("the path holds a NUL character")
    try:
        file.encode()  # as SQLite opens it
    except UnicodeEncodeError:
        raise _error("the path is not valid text (a lone surrogate)") from None
    return SqliteURL(file, _seconds(options, "sqlite"))


def _redis(scheme: str, parts: SplitResult, options: dict[str, str]) -> RedisURL:
    host = parts.hostname
    if not host:
        raise _error(f"missing host: {_REDIS_FORM}")
    try:
        port = parts.port
    except ValueError:  # its text quotes the port as written
        port = 0
    if port == 0:
        raise _error(f"the port must be a number from 1 to 65535: {_REDIS_FORM}")
    db_text = parts.path[1:] if parts.path.startswith("/") else parts.path
    if db_text and not (db_text.isascii() and db_text.isdigit()):
        raise _error(f"the database (the path after the host) must be a number: {_REDIS_FORM}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username is not None and password is None:
        raise _error(f"a user needs a password: {_REDIS_FORM}")
    return RedisURL(
        host=host,
        port=port if port is not None else 6379,
        db=int(db_text) if db_text else 0,
        username=username,
        password=Secret(password) if password is not None else None,
        tls=scheme == "rediss",
        timeout=_seconds(options, scheme),
        prefix=options.get("prefix"),
        durability=_durability(options, scheme),
        retry=_retry(options, scheme),
    )


def _options(scheme: str, query: str, known: set[str]) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _error(f"the {scheme}:// options cannot be read; expected ?NAME=VALUE&...") from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            # an option's name is shown (it is ours to spell), never its value
            shown = repr(name) if _SCHEME.fullmatch(name) else "an option"
            raise _error(f"unknown {scheme}:// option {shown}; expected {', '.join(sorted(known))}")
        if name in options:
            raise _error(f"the {scheme}:// option {name!r} is given twice")
        options[name] = value
    return options


def _seconds(options: dict[str, str], scheme: str) -> float | None:
    value = _number(options, "timeout")
    if value is not None and not value > 0:
        raise _error(f"the {scheme}:// option 'timeout' must be a positive number of seconds")
    return value


def _number(options: dict[str, str], name: str) -> float | None:
    """The option as a number; NaN (refused by every caller) when it is not a finite one."""
    text = options.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _durability(options: dict[str, str], scheme: str) -> str | None:
    text = options.get("durability")
    if text is None or text in DURABILITY:
        return text
    raise _error(f"the {scheme}:// option 'durability' must be {', '.join(DURABILITY)}")


def _retry(options: dict[str, str], scheme: str) -> float | None:
    value = _number(options, "retry")
    if value is not None and not value >= 0:
        raise _error(f"the {scheme}:// option 'retry' must be a number of seconds (0: never)")
    return value


def _count(options: dict[str, str], scheme: str, name: str) -> int | None:
    text = options.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise _error(f"the {scheme}:// option {name!r} must be a whole number from 1")
    return int(text)


def _error(message: str) -> ValidationError:
    return ValidationError(message, field="store")
