"""``redis://HOST:PORT/DB``: many processes on many machines (``pip install
'mailspec[redis]'``, which brings redis-py).

- :meth:`RedisStore.compare_and_set` is one short Lua script: Redis runs a script
  alone, so reading, comparing and writing the key is atomic without ``WATCH`` or
  retries on the server side.
- Expiry is Redis's own (``SET ... PX``), on the server's clock: one clock for every
  machine.
- A write is never retried by redis-py: a script whose answer was lost may have run,
  and running it again would answer False for a write that happened (and the caller
  would apply its change twice). It raises :class:`~mailspec.StoreError` instead. A
  read is retried once on a fresh connection (a server restart leaves the pool's
  connections dead; reading twice changes nothing).
- Every key is put after ``prefix`` (default ``mailspec:``), so the records share a
  database with other data without clashing: ``mailspec:breaker:aurorasendcloud``.
- The password is held as a :class:`~mailspec.runtime.secrets.Secret` and handed to
  redis-py through a credential provider when it connects, so it is in no ``repr``,
  error or connection setting; errors say ``redis://HOST:PORT/DB`` and no more of the
  URL.
"""

from __future__ import annotations

import math
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import StoreError
from ..runtime.secrets import Secret, redact
from .base import check_seconds, check_ttl

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TIMEOUT", "RedisStore"]

DEFAULT_PREFIX = "mailspec:"
DEFAULT_TIMEOUT = 5.0  # seconds, for connecting and for each reply

# KEYS[1] the key; ARGV: expect a value ("1") or absence ("0"), the expected value,
# write ("1") or delete ("0"), the new value, the expiry in ms ("" for none)
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
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

    Nothing connects until the first read or write; a server that cannot be reached
    then, or refuses the login, is a :class:`~mailspec.StoreError`.
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
    ) -> None:
        secret = Secret(password) if isinstance(password, str) else password
        self.host, self.port, self.db, self.tls = host, port, db, tls
        self.prefix, self.timeout = prefix, check_seconds(timeout, "timeout")
        self._secrets = [secret] if secret is not None else []
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
            retry=Retry(NoBackoff(), 0),
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
        try:
            try:
                value = self._client.get(self.prefix + key)
            except (redis.ConnectionError, redis.TimeoutError):
                value = self._client.get(self.prefix + key)  # once more, freshly connected
        except (redis.RedisError, OSError) as exc:
            raise self._error(exc) from None
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
        try:
            done = self._cas(keys=[self.prefix + key], args=args)
        except (redis.RedisError, OSError) as exc:
            raise self._error(exc) from None
        return bool(done)

    # --- the connection -------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections to the server; the store reconnects if used again."""
        self._client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, exc: BaseException) -> StoreError:
        """The StoreError for a failure of redis-py, which is raised ``from None``: the
        driver's frames hold the login in their variables (``auth_args`` while it
        connects), and error reports that show a chain's variables (Django's debug page
        and its error mail) would print it. Its type and redacted text are kept."""
        text = redact(str(exc), self._secrets)
        return StoreError(f"redis store {self.where}", f"{type(exc).__name__}: {text}")
