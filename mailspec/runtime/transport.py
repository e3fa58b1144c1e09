"""HTTP for every generated client: one urllib3 pool per client, strict TLS, timeouts,
and network faults turned into :class:`~mailspec.errors.TransportError`."""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import parse_url

from ..errors import TransportError, ValidationError
from . import logfilter

__all__ = ["Answer", "Transport", "check_base_url", "is_loopback"]

log = logging.getLogger("mailspec.http")

_HEADERS = {"User-Agent": "mailspec", "Accept": "application/json"}
_MAX_ROUTES = 64  # URLs per transport whose pool and request target are remembered


@dataclass(frozen=True)
class Answer:
    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes


def check_base_url(url: str) -> str:
    """Refuse anything but https, or plain http to a loopback address (tests, the sandbox)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        raise ValidationError(
            f"plain http is allowed to loopback addresses only, not {parts.hostname!r}; use https",
            field="base_url",
        )
    # the URL itself is not echoed: its user-info part may hold a password
    raise ValidationError(
        f"expected an https:// URL, got a {parts.scheme or 'scheme-less'} one", field="base_url"
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback IP address (no name
    is resolved). Plain http (and an SMTP login without STARTTLS) may go there only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Transport:
    """Sends one request and returns the raw answer. No retries: those are the Mailer's."""

    def __init__(
        self,
        provider: str,
        *,
        timeout: float | urllib3.Timeout,
        ca_certs: str | None = None,
    ) -> None:
        logfilter.install()  # urllib3's DEBUG log shows request URLs, query strings included
        self.provider = provider
        if not isinstance(timeout, urllib3.Timeout):
            timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=10,
            block=False,
            retries=False,
            timeout=timeout,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
            headers=_HEADERS,
        )
        self._routes: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

    def send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        """Send one request (connecting as needed; :meth:`warm` connects ahead)."""
        started = time.perf_counter()
        try:
            # urllib3 replaces (does not merge) the pool's default headers with per-request
            # ones. What PoolManager.request(..., redirect=False) does for an encoded body,
            # minus parsing the URL and looking its pool up again on every call
            pool, target = self._route(url)
            response = pool.urlopen(
                method,
                target,
                body=body,
                headers={**_HEADERS, **headers},
                redirect=False,
                assert_same_host=False,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            raise TransportError(
                self.provider, f"could not connect: {_reason(exc)}", ambiguous=False
            ) from None
        except ReadTimeoutError:
            raise TransportError(
                self.provider, "timed out waiting for the answer", ambiguous=True
            ) from None
        except ProtocolError as exc:
            raise TransportError(
                self.provider, f"connection dropped: {_reason(exc)}", ambiguous=True
            ) from None
        except SSLError as exc:
            # the TLS handshake comes before the request: nothing was sent
            raise TransportError(
                self.provider, f"TLS failure: {_reason(exc)}", ambiguous=False
            ) from None
        except HTTPError as exc:
            raise TransportError(
                self.provider, f"HTTP failure: {_reason(exc)}", ambiguous=True
            ) from None
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            log.debug(
                "%s %s %s -> %d (%.1f ms)",
                self.provider,
                method,
                _no_query(url),
                response.status,
                elapsed,
            )
        return Answer(response.status, response.headers, response.data)

    def warm(self, url: str) -> None:
        """Connect to ``url``'s server now, unless an open connection is waiting for it.

        A client calls this before encoding a request, so that a refused connection (a
        provider that is down, the first step of a failover) costs only the connect.
        Raises the TransportError (not ambiguous: nothing was sent) ``send`` would."""
        try:
            pool, _ = self._route(url)
            if pool.scheme == "http" and not _has_open_connection(pool):
                _connect(pool)
        except (NewConnectionError, ConnectTimeoutError) as exc:
            raise TransportError(
                self.provider, f"could not connect: {_reason(exc)}", ambiguous=False
            ) from None

    def _route(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        """The connection pool for ``url`` and the request target to send it, as
        PoolManager.urlopen picks them; remembered for URLs without a query (those may
        carry credentials or change on every call), a bounded number of them."""
        route = self._routes.get(url)
        if route is not None and route[0].pool is not None:  # not closed since
            return route
        parts = parse_url(url)
        route = (
            self._pool.connection_from_host(parts.host, port=parts.port, scheme=parts.scheme),
            parts.request_uri,
        )
        if "?" not in url and len(self._routes) < _MAX_ROUTES:
            self._routes[url] = route
        return route

    def close(self) -> None:
        self._routes.clear()
        self._pool.clear()


def _has_open_connection(pool: urllib3.HTTPConnectionPool) -> bool:
    """Whether the connection the pool hands out next is an open one (its queue is last
    in, first out). A peek without the queue's lock: a wrong guess only costs a connect
    before the request instead of inside it."""
    queue = pool.pool  # None once the pool is closed
    idle: list[HTTPConnection | None] = queue.queue if queue is not None else []
    return bool(idle) and idle[-1] is not None and idle[-1].sock is not None


def _connect(pool: urllib3.HTTPConnectionPool) -> None:
    """Open a connection before the request is written, and give it back to the pool for
    ``urlopen`` to take. Plain http only: urllib3 connects it lazily, inside
    ``HTTPConnection.request``, after building and buffering the request line and
    headers, so a refused connection would cost all of that. (For https it connects
    first anyway, in ``_validate_conn``, mapping TLS faults its own way.) Raises what
    that lazy connect would: NewConnectionError or ConnectTimeoutError."""
    conn = pool._get_conn()
    try:
        if conn.is_closed:
            conn.timeout = urllib3.Timeout.resolve_default_timeout(pool.timeout.connect_timeout)
            conn.connect()
    except BaseException:
        conn.close()  # reusable: urllib3 reopens a closed connection on its next request
        raise
    finally:
        pool._put_conn(conn)


def _reason(exc: BaseException) -> str:
    # urllib3 wraps the OS error; its innermost reason is the readable part
    inner = exc
    while inner.__context__ is not None and isinstance(inner.__context__, OSError):
        inner = inner.__context__
    text = str(inner)
    return text.split(": ", 1)[-1] if "Connection pool" in text else text


def _no_query(url: str) -> str:
    return url.split("?", 1)[0]  # query strings can hold credentials; logs get the path only
