"""HTTP for every generated client: one urllib3 pool per client, strict TLS, a
wall-clock bound on every request and a size cap on every answer (:mod:`.bounds`), and
network faults turned into :class:`~mailspec.errors.TransportError`.

An interruption that is not an error (Ctrl-C's KeyboardInterrupt, the SystemExit a
server's worker timeout raises) once a request's write has begun is raised on with
:func:`~mailspec.errors.mark_written` set, as the asyncio path marks a cancellation:
the provider may have the message, and a Mailer keeps its key as maybe sent."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import ssl
import threading
import time
from contextvars import ContextVar
from typing import Protocol, cast
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.exceptions import ClosedPoolError, SSLError
from urllib3.util import parse_url
from urllib3.util.ssl_match_hostname import CertificateError

from ..errors import MailspecError, TransportError, ValidationError, mark_written
from . import http11, logfilter
from .bounds import Budget, OutOfTime, answer_cap
from .http11 import Answer, BadAnswer, NotWritten

__all__ = [
    "DEFAULT_POOL_SIZE",
    "IO",
    "Answer",
    "NotWritten",
    "Transport",
    "check_base_url",
    "is_loopback",
    "through",
]

log = logging.getLogger("mailspec.http")

_MAX_ROUTES = 64  # URLs per transport whose pool and request target are remembered
_CHUNK = 64 << 10  # the most one read takes from the socket
DEFAULT_POOL_SIZE = 10  # idle keep-alive connections kept per server, as urllib3's default


class IO(Protocol):
    """The I/O a :class:`Transport` hands its requests to in place of its own, in a
    context where :func:`through` set one (an :class:`~mailspec.AsyncMailer`'s send):
    the same requests, with the transport's bounds, over other sockets."""

    def warm(self, transport: Transport, url: str, budget: Budget) -> None: ...

    def send(
        self,
        transport: Transport,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        budget: Budget,
    ) -> Answer: ...


_IO: ContextVar[IO | None] = ContextVar("mailspec_transport_io", default=None)


def through(io: IO) -> None:
    """Have every transport send the requests of the current context through ``io``.
    Meant for a context of its own (``contextvars.copy_context().run(through, io)``):
    nothing outside it changes."""
    _IO.set(io)


def check_base_url(url: str) -> str:
    """Refuse anything but https, or plain http to a loopback address (tests, the sandbox).
    A URL that cannot be parsed (``http://[::1``) is a ValidationError too."""
    if not isinstance(url, str):
        raise ValidationError(f"expected a URL string, got {type(url).__name__}", field="base_url")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket; the URL is not echoed (user-info)
        raise ValidationError("base_url is not a valid URL", field="base_url") from None
    try:
        _ = parts.port  # raises for a port that is not a number below 65536
    except ValueError:
        raise ValidationError("base_url has an invalid port", field="base_url") from None
    if "@" in parts.netloc:
        # never used (the spec's auth says where credentials go) and never kept: a URL
        # with user-info would show its password in every repr and log that names it
        raise ValidationError(
            "base_url must not carry credentials (USER:PASSWORD@): give them as the "
            "provider's own credentials (api_key=...)",
            field="base_url",
        )
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
    """Sends one request and returns the raw answer. No retries: those are the Mailer's.

    ``timeout`` is a number of seconds or a ``urllib3.Timeout``. A number bounds the
    connect, each socket operation *and* the whole request (connect to the answer's
    last byte) by that many seconds; a ``urllib3.Timeout`` bounds the connect and each
    read by its ``connect`` and ``read``, and the whole request by its ``total`` (none
    without one). Either way the whole request also ends by the Mailer's deadline
    (:mod:`mailspec.deadline`). ``max_answer_bytes`` caps every answer's size (default:
    :func:`.bounds.answer_cap`'s, by method).

    ``pool_size`` is how many keep-alive connections to one server are kept for reuse
    (default :data:`DEFAULT_POOL_SIZE`). More threads than that sending at once each
    open a connection of their own, and those past the size are closed after their
    answer (urllib3 logs "Connection pool is full, discarding connection"), so a send
    from many threads pays a fresh connect again and again: :meth:`ensure_pool_size`
    grows the pools to the number of threads before they start.
    """

    def __init__(
        self,
        provider: str,
        *,
        timeout: float | urllib3.Timeout,
        ca_certs: str | None = None,
        max_answer_bytes: int | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        logfilter.install()  # urllib3's DEBUG records may show URLs, query strings included
        self.provider = provider
        self.ca_certs = ca_certs
        if not isinstance(timeout, urllib3.Timeout):
            # a plain number is what people read as "the call takes at most this long"
            self._total: float | None = timeout
            timeout = urllib3.Timeout(connect=timeout, read=timeout)
        else:
            total = timeout.total  # None, a number, or urllib3's "default" (none)
            self._total = float(total) if isinstance(total, (int, float)) else None
        # per socket operation; the budget of each request cuts them to what it has left
        self.connect_timeout = urllib3.Timeout.resolve_default_timeout(timeout._connect)
        self.read_timeout = urllib3.Timeout.resolve_default_timeout(timeout._read)
        self.max_answer_bytes = max_answer_bytes
        self._pool_size = _pool_size(pool_size, provider)
        self._pool_lock = threading.Lock()
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=self._pool_size,
            block=False,
            timeout=timeout,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
        )
        self._routes: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

    @property
    def pool_size(self) -> int:
        """How many idle connections to one server are kept for reuse."""
        return self._pool_size

    def ensure_pool_size(self, size: int) -> None:
        """Keep at least ``size`` connections per server from now on (never fewer than
        before): the pools open already grow in place, keeping their connections, and
        those opened later start at that size. Safe while other threads send."""
        size = _pool_size(size, self.provider)
        with self._pool_lock:
            if size <= self._pool_size:
                return
            self._pool_size = size
            self._pool.connection_pool_kw["maxsize"] = size  # pools made from now on
            # keys() is the container's copy under its lock; it cannot be iterated itself
            for key in self._pool.pools.keys():  # noqa: SIM118
                pool = self._pool.pools.get(key)
                if pool is not None:
                    _grow(pool, size)

    def start(self) -> Budget:
        """The time budget of one request, starting now: pass it to :meth:`warm` and
        :meth:`send`, so that the connect ahead of the encoding counts too."""
        return Budget(self._total)

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        budget: Budget | None = None,
    ) -> Answer:
        """Send one request on a keep-alive connection (connecting first when there is
        none; :meth:`warm` connects ahead) and read the whole answer, within ``budget``
        (default: one started now) and the answer size cap.

        urllib3's pool holds the connections (and makes them: TLS, timeouts);
        :mod:`.http11` writes the request (head and body in one write) and reads the
        answer, the same reader the async path has."""
        budget = budget if budget is not None else self.start()
        io = _IO.get()
        if io is not None:
            return io.send(self, method, url, headers, body, budget)
        started = time.perf_counter()
        pool, target = self._route(url)
        conn = self._connected(pool, budget)
        try:
            # the connect timeout bounds the write, as in urllib3
            write_timeout = budget.wait(self.connect_timeout)
            data = http11.request(method, target, _authority(pool), headers, body)
        except (OutOfTime, NotWritten) as exc:
            pool._put_conn(conn)  # unused, still good for the next request
            if isinstance(exc, NotWritten):
                raise self.send_error(exc, budget) from None
            raise TransportError(self.provider, f"not sent: {exc}", ambiguous=False) from None
        reader = http11.AnswerReader(
            method, answer_cap(method, self.max_answer_bytes), self.provider
        )
        written = False  # once the write starts, the provider may get the request
        try:
            sock = conn.sock
            sock.settimeout(write_timeout)
            written = True
            # the server may hang up mid-request and have answered why: read it
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)
            answer = _read(sock, reader, budget, self.read_timeout)
        except BaseException as exc:
            conn.close()
            pool._put_conn(conn)  # closed: reopened by whoever takes it next
            if not isinstance(exc, Exception):
                if written:  # Ctrl-C, SystemExit: the provider may have the message
                    mark_written(exc, self.provider)
                raise
            raise self.send_error(exc, budget) from None
        if not reader.reusable():
            conn.close()  # "Connection: close", HTTP/1.0, or a body read until the close
        pool._put_conn(conn)
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            log.debug(
                "%s %s %s -> %d (%.1f ms)",
                self.provider,
                method,
                _no_query(url),
                answer.status,
                elapsed,
            )
        return answer

    def warm(self, url: str, budget: Budget | None = None) -> None:
        """Connect to ``url``'s server now, unless an open connection is waiting for it.

        A client calls this before encoding a request, so that a refused connection (a
        provider that is down, the first step of a failover) costs only the connect.
        Raises the TransportError (not ambiguous: nothing was sent) ``send`` would."""
        budget = budget if budget is not None else self.start()
        io = _IO.get()
        if io is not None:
            io.warm(self, url, budget)
            return
        pool, _ = self._route(url)
        if not _has_open_connection(pool):
            pool._put_conn(self._connected(pool, budget))

    def _connected(self, pool: urllib3.HTTPConnectionPool, budget: Budget) -> HTTPConnection:
        """A connection from ``pool`` (the most recently used idle one, or a new one),
        connected (TLS handshake included) within ``budget``. Failures here are never
        ambiguous: nothing has been sent."""
        try:
            # the most recently used idle connection (closed if it was dropped) or a new one
            conn = cast(HTTPConnection, pool._get_conn())
        except ClosedPoolError:  # closed by another thread since _route
            raise TransportError(self.provider, "the client was closed", ambiguous=False) from None
        if not conn.is_closed:
            return conn
        try:
            conn.timeout = budget.wait(self.connect_timeout)
            conn.connect()
        except BaseException as exc:
            conn.close()
            pool._put_conn(conn)
            if not isinstance(exc, Exception):
                raise
            raise self.connect_error(exc) from None
        return conn

    def connect_error(self, exc: Exception) -> TransportError:
        """A failure before any of the request was written: never ambiguous."""
        if isinstance(exc, OutOfTime):
            return TransportError(self.provider, f"not connected: {exc}", ambiguous=False)
        if isinstance(exc, (SSLError, ssl.SSLError, CertificateError)):
            return TransportError(self.provider, f"TLS failure: {_reason(exc)}", ambiguous=False)
        # NewConnectionError, ConnectTimeoutError, a TLS handshake that timed out, ...
        return TransportError(self.provider, f"could not connect: {_reason(exc)}", ambiguous=False)

    def send_error(self, exc: Exception, budget: Budget) -> MailspecError:
        """A failure once the request may have been (partly) written: ambiguous."""
        if isinstance(exc, MailspecError):  # an answer over the size cap: typed already
            return exc
        if isinstance(exc, NotWritten):
            return TransportError(
                self.provider,
                "a header value cannot be sent (a control or non-Latin-1 character)",
                ambiguous=False,
            )
        if isinstance(exc, TimeoutError):
            if budget.spent():  # not one slow read: the whole request took too long
                why = f"timed out before the whole answer came (past {budget.bound})"
                return TransportError(self.provider, why, ambiguous=True)
            return TransportError(self.provider, "timed out before the answer came", ambiguous=True)
        if isinstance(exc, BadAnswer):  # its message never quotes the answer
            return TransportError(self.provider, f"malformed answer: {exc}", ambiguous=True)
        if isinstance(exc, OSError):  # Cut (closed mid-answer), a reset, ...
            return TransportError(
                self.provider, f"connection dropped: {_reason(exc)}", ambiguous=True
            )
        return TransportError(self.provider, f"HTTP failure: {_reason(exc)}", ambiguous=True)

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


def _pool_size(size: object, provider: str) -> int:
    if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
        return size
    raise ValidationError(
        f"expected a whole number of connections, 1 or more, got {size!r}",
        field="pool_size",
        provider=provider,
    )


def _grow(pool: urllib3.HTTPConnectionPool, size: int) -> None:
    """Let ``pool`` keep ``size`` idle connections. urllib3 sizes a pool once, as a queue
    of ``maxsize`` slots (None: a connection not opened yet); the queue is raised under
    its own lock, and the new empty slots go to the bottom, below the connections kept,
    so that the next request still takes an open one (the queue is last in, first out)."""
    queue = pool.pool
    if queue is None:  # closed meanwhile: its replacement is made at the new size
        return
    with queue.mutex:
        extra = size - queue.maxsize
        if extra <= 0:
            return
        queue.maxsize = size
        queue.queue[0:0] = [None] * extra
        queue.not_full.notify_all()


def _read(
    sock: socket.socket, reader: http11.AnswerReader, budget: Budget, per_read: float | None
) -> Answer:
    """Read ``sock`` into ``reader`` until the answer is whole, each read waiting at
    most what the request's budget has left (and at most ``per_read``): a server that
    trickles its answer cannot keep the request going past its budget by resetting
    the socket timeout with every byte."""
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    while True:
        sock.settimeout(budget.wait(per_read))
        answer = reader.feed(view[: sock.recv_into(buffer)])
        if answer is not None:
            return answer


def _authority(pool: urllib3.HTTPConnectionPool) -> str:
    """The Host header of ``pool``'s requests, as http.client writes it."""
    host = pool.host or ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if pool.scheme == "https" else 80
    return host if pool.port in (None, default) else f"{host}:{pool.port}"


def _has_open_connection(pool: urllib3.HTTPConnectionPool) -> bool:
    """Whether the connection the pool hands out next is an open one (its queue is last
    in, first out). A peek without the queue's lock: a wrong guess only moves the
    connect from before the encoding to :meth:`Transport.send`."""
    queue = pool.pool  # None once the pool is closed
    try:
        last: HTTPConnection | None = queue.queue[-1] if queue is not None else None
    except IndexError:  # empty, or emptied by another thread since
        return False
    return last is not None and last.sock is not None


def _reason(exc: BaseException) -> str:
    # urllib3 wraps the OS error; its innermost reason is the readable part
    inner = exc
    while inner.__context__ is not None and isinstance(inner.__context__, OSError):
        inner = inner.__context__
    return str(inner)


def _no_query(url: str) -> str:
    return url.split("?", 1)[0]  # query strings can hold credentials; logs get the path only
