"""``redis://HOST:PORT/DB``: many processes on many machines (``pip install
'mailspec[redis]'``, which brings redis-py).

- :meth:`RedisStore.compare_and_set` is one short Lua script: Redis runs a script
  alone, so reading, comparing and writing the key is atomic without ``WATCH`` or
  retries on the server side.
- Expiry is Redis's own (``SET ... PX``), on the server's clock: one clock for every
  machine.
- **The server is checked** before the first read or write: a server that may lose
  records (one that evicts them under ``maxmemory``, or keeps nothing across a restart)
  would silently break the ledger's exactly-once, so by default (``durability=
  "require"``) it is refused with a :class:`~mailspec.StoreError` naming the setting
  and its fix; ``"warn"`` logs that on ``mailspec.stores`` and uses it, ``"off"`` does
  not look. See :mod:`mailspec.stores.redis_durability`.
- **A short outage is ridden out**: a call that cannot reach the server (refused,
  reset, timed out, the server still loading its data) is made again on a fresh
  connection, backing off, for up to ``retry`` seconds (default 5) and never past the
  deadline of the send it serves (:mod:`mailspec.deadline`); then it raises
  :class:`~mailspec.StoreError`. A write whose answer was lost may have run, so it is
  sent again *as a repeat*: a repeat that finds the key already holding what it writes
  answers True (its first run wrote it) instead of False (which would have the caller
  apply its change twice). Only a writer of the very same bytes in between could make
  that answer wrong; a ledger record names its owner and time, so none can.
- Every key is put after ``prefix`` (default ``mailspec:``), so the records share a
  database with other data without clashing: ``mailspec:breaker:aurorasendcloud``.
- The password is held as a :class:`~mailspec.runtime.secrets.Secret` and handed to
  redis-py through a credential provider when it connects, so it is in no ``repr``,
  error or connection setting; errors say ``redis://HOST:PORT/DB`` and no more of the
  URL.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .. import deadline
from ..errors import StoreError, ValidationError
from ..runtime.secrets import Secret, redact
from . import redis_durability
from .base import check_seconds, check_ttl
from .url import DURABILITY

__all__ = ["DEFAULT_DURABILITY", "DEFAULT_PREFIX", "DEFAULT_RETRY", "DEFAULT_TIMEOUT", "RedisStore"]

log = logging.getLogger("mailspec.stores")

DEFAULT_PREFIX = "mailspec:"
DEFAULT_TIMEOUT = 5.0  # seconds, for connecting and for each reply
DEFAULT_RETRY = 5.0  # seconds a call that cannot reach the server is retried for
DEFAULT_DURABILITY = "require"
# the waits between tries: doubling from the first to the most, each with jitter, so
# that many senders back from an outage do not all arrive at once
_FIRST_WAIT, _MOST_WAIT = 0.05, 0.5

T = TypeVar("T")

# KEYS[1] the key; ARGV: expect a value ("1") or absence ("0"), the expected value,
# write ("1") or delete ("0"), the new value, the expiry in ms ("" for none), and
# whether this is a repeat of a call whose answer was lost ("1")
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[6] == '1' then
  if ARGV[3] == '0' then
    if not current then return 1 end
  elseif current == ARGV[4] then
    return 1
  end
end
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
elseif ARGV[5] == '' then
  redis.call('SET', KEYS[1], ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
end
return 1
"""

# worth another try on a fresh connection: the server is out of reach or restarting
_PASSING = (redis.ConnectionError, redis.TimeoutError, OSError)
# a server that answers, but refuses us: another try would be refused again
_LASTING = (redis.AuthenticationError,)


class _Login(redis.CredentialProvider):
    """Hands redis-py the login when it connects; the password stays a Secret."""

    def __init__(self, username: str | None, password: Secret) -> None:
        self._username, self._password = username, password

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        if self._username is None:
            return (self._password.reveal(),)
        return (self._username, self._password.reveal())

    def __repr__(self) -> str:
        return "<login ***>"


class RedisStore:
    """State in Redis, shared by every process and machine that reaches the server.

    Nothing connects until the first read or write, which first checks that the server
    keeps records (``durability``, see the module docstring). A server that cannot be
    reached within ``retry`` seconds, refuses the login, or fails that check is a
    :class:`~mailspec.StoreError`.
    """

    shared = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        db: int = 0,
        *,
        username: str | None = None,
        password: str | Secret | None = None,
        tls: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        prefix: str = DEFAULT_PREFIX,
        durability: str = DEFAULT_DURABILITY,
        retry: float = DEFAULT_RETRY,
    ) -> None:
        if durability not in DURABILITY:
            raise ValidationError(f"expected one of {', '.join(DURABILITY)}", field="durability")
        secret = Secret(password) if isinstance(password, str) else password
        self.host, self.port, self.db, self.tls = host, port, db, tls
        self.prefix, self.timeout = prefix, check_seconds(timeout, "timeout")
        self.durability = durability
        self.retry = 0.0 if retry == 0 else check_seconds(retry, "retry")
        self._secrets = [secret] if secret is not None else []
        self._checked = durability == "off"
        self._checking = threading.Lock()
        options: dict[str, Any] = {}
        if secret is not None:
            options["credential_provider"] = _Login(username, secret)
        self._client = redis.Redis(
            host=host,
            port=port,
            db=db,
            ssl=tls,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0),  # ours retries, knowing which calls may repeat
            **options,
        )
        self._cas = self._client.register_script(_COMPARE_AND_SET)

    @property
    def where(self) -> str:
        """The server, as a URL without any login: ``redis://HOST:PORT/DB``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'rediss' if self.tls else 'redis'}://{host}:{self.port}/{self.db}"

    def __repr__(self) -> str:
        return f"<RedisStore {self.where} prefix={self.prefix!r}>"

    # --- the StateStore interface ---------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        value = self._call(lambda repeat: self._client.get(self.prefix + key))
        return cast("bytes | None", value)

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: float | None = None
    ) -> bool:
        ttl = check_ttl(ttl)
        args = [
            b"0" if expected is None else b"1",
            b"" if expected is None else expected,
            b"0" if new is None else b"1",
            b"" if new is None else new,
            b"" if ttl is None else str(max(1, math.ceil(ttl * 1000))).encode(),
        ]

        def run(repeat: bool) -> object:
            return self._cas(keys=[self.prefix + key], args=[*args, b"1" if repeat else b"0"])

        return bool(self._call(run))

    # --- the connection -------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections to the server; the store reconnects if used again."""
        self._client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, operation: Callable[[bool], T]) -> T:
        """``operation(repeat)`` once the server is checked, tried again while the
        server is out of reach (``repeat`` true from the second try on), for up to
        ``retry`` seconds and never past the current send's deadline."""
        give_up = time.monotonic() + self.retry
        send_ends = deadline.current()
        if send_ends is not None:
            give_up = min(give_up, send_ends)
        wait, repeat = _FIRST_WAIT, False
        while True:
            try:
                self._check_server()
                return operation(repeat)
            except _LASTING as exc:
                raise self._error(exc) from None
            except _PASSING as exc:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise self._error(exc) from None
            except redis.RedisError as exc:
                raise self._error(exc) from None
            # the last wait ends when the time does, for one more try
            time.sleep(min(left, wait * (0.5 + random.random() / 2)))
            wait, repeat = min(_MOST_WAIT, wait * 2), True

    def _check_server(self) -> None:
        """Refuse (``require``) or report (``warn``) a server that may lose records;
        once per store, when it first connects. A refusal is checked afresh on the next
        call, so a server set right meanwhile is used without a restart."""
        if self._checked:
            return
        with self._checking:
            if self._checked:
                return
            found = redis_durability.problems(redis_durability.read(self._client))
            if found and self.durability == "require":
                refusal = redact(redis_durability.refusal(found), self._secrets)
                raise StoreError(f"redis store {self.where}", refusal)
            for problem in found:
                shown = redact(problem, self._secrets)
                log.warning("redis store %s (durability=warn): %s", self.where, shown)
            self._checked = True

    def _error(self, exc: BaseException) -> StoreError:
        """The StoreError for a failure of redis-py, which is raised ``from None``: the
        driver's frames hold the login in their variables (``auth_args`` while it
        connects), and error reports that show a chain's variables (Django's debug page
        and its error mail) would print it. Its type and redacted text are kept."""
        text = redact(str(exc), self._secrets)
        return StoreError(f"redis store {self.where}", f"{type(exc).__name__}: {text}")
