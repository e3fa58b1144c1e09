"""HTTP/1.1 over asyncio streams, for the requests a :class:`~.transport.Transport`
hands on (see :class:`~.transport.IO`): :mod:`.http11` writes the request and reads
the answer, as for the sync transport; the event loop does the sockets. Everything but the sockets is the transport's: its
budget for the whole request and its timeouts per socket operation, its answer size
cap (:mod:`.bounds`), its TLS trust (``ca_certs``) and its error messages.

Connections are kept alive per event loop, per transport and per host, at most
``connections`` of them: a request that finds them all busy waits for one rather than
opening another, so a thousand concurrent sends to one provider use ``connections``
sockets. That wait is this sender's queue, not the provider's slowness: it ends by the
send's deadline (less :meth:`~.bounds.Budget.least_start`, the least time a request is
started with), not by the provider's timeout, which counts from the request's turn;
a request whose turn does not come in time, or that has too little time left, is not
started at all (:class:`~mailspec.errors.RequestNotStarted`: not ambiguous, nothing
about the provider's health).

A request cancelled (:class:`asyncio.CancelledError`) once any of it was written has
its CancelledError marked (:func:`mailspec.errors.mark_written`: the provider may have
the message) and raised on, unchanged otherwise: asyncio's ``timeout()`` and
``TaskGroup`` tell a cancellation by its exact class.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from dataclasses import dataclass

from urllib3.util import parse_url

from ..errors import RequestNotStarted, TransportError, mark_written
from . import http11
from .bounds import Budget, OutOfTime, answer_cap
from .transport import Answer, Transport

__all__ = ["DEFAULT_CONNECTIONS", "AsyncHTTP"]

DEFAULT_CONNECTIONS = 10  # per provider host, as the sync transport's pool keeps
_CHUNK = 64 << 10
_MAX_ROUTES = 64  # URLs per loop whose pool and request target are remembered


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def reusable(self) -> bool:
        """Still open (the server may have closed an idle one since: its end has been
        read then)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.transport.abort()  # no TLS goodbye to wait for: nothing is pending


class _Pool:
    """The keep-alive connections to one host, at most ``size`` open at a time."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, size: int) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.size = size
        bracketed = host if ":" not in host else f"[{host}]"
        default_port = 443 if tls is not None else 80
        # the Host header of its requests, as http.client writes it
        self.authority = bracketed if port == default_port else f"{bracketed}:{port}"
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(size)

    def has_idle(self) -> bool:
        return any(conn.reusable() for conn in self._idle)

    def full(self) -> bool:
        """Whether every connection this pool may open is in use."""
        return self._slots.locked()

    def grow(self, size: int) -> None:
        """Let ``size`` connections be open from now on (never fewer than before); the
        new slots are free at once, for the requests waiting for one."""
        for _ in range(size - self.size):
            self._slots.release()
        self.size = max(self.size, size)

    async def take(self, transport: Transport, budget: Budget) -> _Connection:
        """A connection of this pool's (the most recently used idle one, or a new one),
        once it is this request's turn (:meth:`_turn`). Failures raise the transport's
        TransportError for a connect: nothing has been sent."""
        await self._turn(transport, budget)
        try:
            while self._idle:
                conn = self._idle.pop()
                if conn.reusable():
                    return conn
                conn.close()
            return await self._connect(transport, budget)
        except BaseException:
            self._slots.release()
            raise

    async def _turn(self, transport: Transport, budget: Budget) -> None:
        """Wait for a free slot until :meth:`Budget.turn_ends` (in a send, its
        deadline less the least time a request is started with), and leave the wait
        out of the request's own timeout: a queue here is this sender's, not the
        provider's slowness. RequestNotStarted when no slot came free by then, or that
        time had passed already: nothing was sent, nothing is in doubt."""
        ends, by = budget.turn_ends()
        began = time.monotonic()
        wait = None if ends is None else ends - began
        if wait is not None and wait <= 0:
            raise RequestNotStarted(
                transport.provider, f"too little time left (a request starts no later than {by})"
            )
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise RequestNotStarted(
                transport.provider, f"no free connection (all {self.size} busy) until {by}"
            ) from None
        budget.waited(time.monotonic() - began)

    async def _connect(self, transport: Transport, budget: Budget) -> _Connection:
        try:
            wait = budget.wait(transport.connect_timeout)
            async with asyncio.timeout(wait):
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls is not None else None,
                )
        except OutOfTime as exc:
            raise transport.connect_error(exc) from None
        except TimeoutError:  # asyncio.timeout's, which says nothing itself
            timed_out = TimeoutError(f"timed out after {wait:.3g} s")
            raise transport.connect_error(timed_out) from None
        except Exception as exc:
            raise transport.connect_error(exc) from None
        return _Connection(reader, writer)

    def give_back(self, conn: _Connection, reuse: bool) -> None:
        if reuse and conn.reusable():
            self._idle.append(conn)
        else:
            conn.close()
        self._slots.release()

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


class AsyncHTTP:
    """Sends a transport's requests on the running event loop; see the module
    docstring. One per :class:`~mailspec.AsyncMailer`."""

    def __init__(self, connections: int = DEFAULT_CONNECTIONS) -> None:
        self.connections = connections
        # pools belong to the loop their sockets and semaphores were made on
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[int, str, str, int], _Pool]
        ] = weakref.WeakKeyDictionary()
        self._routes: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[int, str], tuple[_Pool, str]]
        ] = weakref.WeakKeyDictionary()
        self._tls: dict[str | None, ssl.SSLContext] = {}

    def ensure_connections(self, size: int) -> None:
        """Let ``size`` connections per host be open from now on (never fewer than
        before); each loop's pools grow when next used, on that loop."""
        self.connections = max(self.connections, size)

    async def warm(self, transport: Transport, url: str, budget: Budget) -> None:
        """Connect to ``url``'s server now, unless an idle connection is waiting, or
        none may be opened (all are busy: the request will wait for one anyway, and
        waiting here too would queue it twice)."""
        pool, _ = self._route(transport, url)
        if not pool.has_idle() and not pool.full():
            pool.give_back(await pool.take(transport, budget), reuse=True)

    async def send(
        self,
        transport: Transport,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        budget: Budget,
    ) -> Answer:
        """One request and its whole answer, as :meth:`Transport.send` makes it."""
        pool, target = self._route(transport, url)
        conn = await pool.take(transport, budget)
        written = reuse = False
        try:
            # NotWritten: a header value that cannot be sent (a control or non-Latin-1
            # character); nothing was written
            data = http11.request(method, target, pool.authority, headers, body)
            write_timeout = budget.wait(transport.connect_timeout)  # as the sync transport
            written = True
            conn.writer.write(data)
            try:
                async with asyncio.timeout(write_timeout):
                    await conn.writer.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server hung up mid-request and may have answered why: read it
            reader = http11.AnswerReader(
                method, answer_cap(method, transport.max_answer_bytes), transport.provider
            )
            answer = await _answer(conn, reader, transport, budget)
            reuse = reader.reusable()
            return answer
        except asyncio.CancelledError as exc:
            if written:
                mark_written(exc, transport.provider)  # the provider may have it
            raise
        except OutOfTime as exc:
            if not written:
                raise TransportError(
                    transport.provider, f"not sent: {exc}", ambiguous=False
                ) from None
            raise transport.send_error(exc, budget) from None
        except Exception as exc:
            raise transport.send_error(exc, budget) from None
        finally:
            pool.give_back(conn, reuse)

    def close(self) -> None:
        """Close the idle connections of the running loop's pools."""
        loop = asyncio.get_running_loop()
        self._routes.pop(loop, None)
        for pool in self._pools.pop(loop, {}).values():
            pool.close()

    def _route(self, transport: Transport, url: str) -> tuple[_Pool, str]:
        """The pool for ``url`` on the running loop, and the request target; remembered
        for URLs without a query (as the sync transport does), a bounded number."""
        loop = asyncio.get_running_loop()
        pools = self._pools.get(loop)
        if pools is None:
            self._forget_closed_loops()
            pools = self._pools[loop] = {}
        routes = self._routes.setdefault(loop, {})
        route = routes.get((id(transport), url))
        if route is not None:
            if route[0].size < self.connections:  # grown since (ensure_connections)
                route[0].grow(self.connections)
            return route
        parts = parse_url(url)
        scheme, host = parts.scheme or "http", (parts.host or "").strip("[]")
        port = parts.port or (443 if scheme == "https" else 80)
        key = (id(transport), scheme, host, port)
        pool = pools.get(key)
        if pool is None:
            tls = self._context(transport.ca_certs) if scheme == "https" else None
            pool = pools[key] = _Pool(host, port, tls, self.connections)
        elif pool.size < self.connections:
            pool.grow(self.connections)
        route = (pool, parts.request_uri)
        if "?" not in url and len(routes) < _MAX_ROUTES:
            routes[(id(transport), url)] = route
        return route

    def _forget_closed_loops(self) -> None:
        """Drop the pools of loops that have closed (their sockets went with them): a
        pool refers to its loop, which would otherwise never be collected."""
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            del self._pools[loop]
            self._routes.pop(loop, None)

    def _context(self, ca_certs: str | None) -> ssl.SSLContext:
        """Verified TLS as the sync transport has it: the certificate checked against
        ``ca_certs`` (else the system's trust store) and the host name, TLS 1.2 or
        later."""
        context = self._tls.get(ca_certs)
        if context is None:
            context = ssl.create_default_context(cafile=ca_certs)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls[ca_certs] = context
        return context


async def _answer(
    conn: _Connection, reader: http11.AnswerReader, transport: Transport, budget: Budget
) -> Answer:
    """The whole answer, each read within what ``budget`` has left."""
    while True:
        async with asyncio.timeout(budget.wait(transport.read_timeout)):
            chunk = await conn.reader.read(_CHUNK)
        answer = reader.feed(chunk)  # b"": the server closed
        if answer is not None:
            return answer
