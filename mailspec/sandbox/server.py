"""One sandbox server: real HTTP on 127.0.0.1 in front of an :class:`Emulator`."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ValidationError
from ..spec_model import auth_keywords, fill_template
from ..vocabulary import DeliveryState, ErrorCategory, EventType
from .emulator import Accepted, Answer, Emulator, Outcome
from .faults import Fault, FaultPlan
from .latency import Latency, LatencySetting
from .poster import WebhookPoster

__all__ = ["SandboxServer"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler sleeping through a SLOW fault must not hold up stop()
    # the listen backlog: many clients connecting at once (a bulk send's threads) wait
    # to be accepted instead of having their connects dropped and retried a second later
    request_queue_size = 256
    sandbox: SandboxServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        # the connections a handler thread is serving: shutdown() stops accepting new
        # ones only, and a keep-alive connection would go on being answered after stop()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.closed = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            if self.closed:
                self.shutdown_request(request)
                return
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a killed process, a dropped connection)
        is what the sandbox is for, not an error to print; anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Refuse every further request, and end every open connection: a handler
        waiting on a keep-alive connection reads its end, and a client sending on it
        gets a connection error, never an answer."""
        with self._connections_lock:
            self.closed = True
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    # headers and body go out in two writes: without TCP_NODELAY the second waits for
    # the client's delayed ACK, some 40 ms per answer on Linux
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests carry credentials; the sandbox keeps its own records instead


def _segment(value: str) -> str:
    """A setting as one URL segment, as the client writes it."""
    return quote(value, safe="")


class SandboxServer:
    """A local HTTP server that behaves like one provider, driven by its spec.

    ``base_url`` and ``credentials`` are what a client needs (``provider()`` builds
    one); ``accepted`` lists what it accepted, one entry per recipient; ``faults``
    injects failures; ``set_outcome`` decides what ``status()`` will report.

    ``latency`` delays every answer, as a real provider takes time to answer:
    ``0.1`` seconds each, or ``(0.05, 0.3)`` for a random time in that range, drawn
    from ``random.Random(latency_seed)``; ``server.latency = Latency(...)`` changes it
    while running. Each connection has
    a thread of its own, so many requests at once each wait their latency side by
    side, not one after another.
    """

    def __init__(
        self,
        name: str,
        *,
        port: int = 0,
        slow_seconds: float = 2.0,
        numbers_as_strings: bool = False,
        latency: LatencySetting = None,
        latency_seed: int = 0,
    ) -> None:
        from ..registry import spec

        self.name = name
        self.spec = spec(name)
        # the optional credentials too (AuroraSendCloud's SMS keys), so that
        # provider() can call every operation
        self._main_credentials, optional = auth_keywords(self.spec.auth)
        names = [*self._main_credentials, *optional]
        self.credentials = {c: f"sandbox-{c.replace('_', '-')}" for c in names}
        base = self.spec.regions[self.spec.default_region].base_url
        fills = {s: self.credentials[s] for s in self.spec.auth.settings}
        fills["region"] = self.spec.default_region
        self._base_path = urlsplit(fill_template(base, fills, _segment)).path or "/"
        self.emulator = Emulator(self.spec, self.credentials, self._base_path)
        self.emulator.listeners.append(self._on_accept)
        self.emulator.numbers_as_strings = numbers_as_strings
        self.faults = FaultPlan()
        self.slow_seconds = slow_seconds
        self.latency = Latency(latency, seed=latency_seed)
        self.requests = 0
        self._count_lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        self.webhooks: WebhookPoster | None = None

    @property
    def numbers_as_strings(self) -> bool:
        """Whether answers write every number the spec types int or float as a string
        (``{"code": "200"}``, ``"total": "2"``). Off by default: the providers'
        documents show JSON numbers; on, it tests a client against answers as some
        providers really send them."""
        return self.emulator.numbers_as_strings

    @numbers_as_strings.setter
    def numbers_as_strings(self, on: bool) -> None:
        self.emulator.numbers_as_strings = bool(on)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The provider's base URL as its documents write it, moved to this server."""
        return f"http://127.0.0.1:{self.port}{self._base_path}"

    @property
    def url(self) -> str:
        """A ``provider_from_url`` string for this server (which carries the main
        credentials only, as such URLs do)."""
        secrets = ":".join(quote(self.credentials[c], safe="") for c in self._main_credentials)
        return f"{self.name}://{secrets}@?base_url={quote(self.base_url, safe='')}"

    @property
    def accepted(self) -> list[Accepted]:
        with self.emulator._lock:
            return list(self.emulator.accepted)

    def provider(self, **options: Any) -> Any:
        """A mailspec provider aimed at this server."""
        from ..registry import provider

        return provider(self.name, **{"base_url": self.base_url, **self.credentials, **options})

    def set_outcome(
        self,
        state: DeliveryState | str,
        *,
        sub_status: str | int | None = None,
        recipient: str = "*",
        report: bool = True,
    ) -> None:
        """What ``status()`` reports for messages accepted from now on: for one
        recipient, or for everyone (``"*"``). ``report=False``: their webhooks post
        nothing at all, not even ``queued`` (a provider that goes silent).

        ``failed`` is a message the provider accepted and then dropped (its own
        failure): status lookups report it where the spec maps a status to it
        (CloudMails' ``failed``); no provider here names a webhook event for it, so
        none is posted, as the provider would post none."""
        sub = None if sub_status is None else str(sub_status)
        self.emulator.outcomes[recipient] = Outcome(DeliveryState(state), sub, not report)

    def send_webhooks(
        self,
        url: str,
        *,
        secret: str | None = None,
        encoding: str | None = None,
        retry_delays: Sequence[float] = (),
    ) -> WebhookPoster:
        """Post the provider's events to ``url`` from now on: an accepted message's
        queued event and the events to its outcome, then each :meth:`advance`. Events
        are signed with ``secret`` as the provider signs, or carry it as the basic-auth
        password where the provider defines no scheme. An event the receiver did not
        take (no answer, or a 5xx) is posted again at once, twice, or after each of
        ``retry_delays`` seconds when given (as providers retry, with backoff).
        ``webhooks.hold()`` keeps events back until ``webhooks.release(...)`` posts
        them, shuffled or repeated on demand."""
        if self.webhooks is not None:
            self.webhooks.close()
        self.webhooks = WebhookPoster(
            self.spec, url, secret=secret, encoding=encoding, retry_delays=retry_delays
        )
        return self.webhooks

    def report(self, message_id: str, *types: EventType | str, repeat: int = 1) -> int:
        """Post these events about an accepted message now, in this order (any order:
        a ``delivered`` after a ``bounced``), each ``repeat`` times (a provider
        retrying); the number of posts queued. An event type the provider has no
        webhook event for is left out, as the provider would never post it. Needs
        :meth:`send_webhooks`."""
        if self.webhooks is None:
            raise ValidationError("call send_webhooks(url) first", field="webhooks")
        with self.emulator._lock:
            row = self._row(message_id)
        wanted = [EventType(t) for t in types] * max(1, repeat)
        return self.webhooks.post(row, wanted)

    def _on_accept(self, row: Accepted) -> None:
        if self.webhooks is not None and row.operation != "send_sms":  # mail events only
            self.webhooks.accepted(row)

    def advance(
        self, message_id: str, state: DeliveryState | str, *, sub_status: str | int | None = None
    ) -> None:
        """Move an accepted message on (delivered, then opened, say): ``status()`` reports
        the new state, and the events that lead to it are posted."""
        with self.emulator._lock:
            row = self._row(message_id)
            previous = row.outcome.state
            row.outcome = Outcome(
                DeliveryState(state), None if sub_status is None else str(sub_status)
            )
        if self.webhooks is not None:
            self.webhooks.changed(row, previous)

    def _row(self, message_id: str) -> Accepted:
        rows = [a for a in self.emulator.accepted if a.message_id == message_id]
        if not rows:
            raise ValidationError(
                f"the sandbox accepted no message {message_id!r}", field="message_id"
            )
        return rows[0]

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                # a short poll, so stop() returns at once rather than after up to 0.5 s
                target=self._httpd.serve_forever,
                args=(0.05,),
                name=f"sandbox-{self.name}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
            self.webhooks = None
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.name} {self.base_url}>"

    # --- one request ---------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        with self._count_lock:
            self.requests += 1
        if self._httpd.closed:  # read just as stop() came: a stopped server answers nothing
            return _drop(handler)
        fault = self.faults.next()
        if fault is Fault.DROP_BEFORE:
            return _drop(handler)
        if fault is Fault.SLOW:
            time.sleep(self.slow_seconds)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if fault in (Fault.RATE_LIMIT, Fault.SERVER_ERROR):
            # the code the called operation answers (an email send's, not the SMS API's)
            category = (
                ErrorCategory.RATE_LIMIT if fault is Fault.RATE_LIMIT else ErrorCategory.SERVER
            )
            operation = self.emulator.operation_for(handler.command, handler.path)
            answer = self.emulator.error(category, operation=operation)
        else:
            headers = {k: v for k, v in handler.headers.items()}
            answer = self.emulator.handle(handler.command, handler.path, headers, body)
        delay = self.latency.next()
        if delay > 0:  # the provider's time to answer (the message is accepted meanwhile)
            time.sleep(delay)
        if fault is Fault.DROP_AFTER:
            return _drop(handler)
        if fault is Fault.GARBAGE:
            answer = Answer(
                200,
                b"<html><body>502 Bad Gateway</body></html>\x00\xff",
                {"Content-Type": "text/html"},
            )
        _send(handler, answer)


def _send(handler: _Handler, answer: Answer) -> None:
    # the client may have given up already (a SLOW answer past its timeout): the
    # message is accepted either way, and a closed socket is no server error to print
    try:
        handler.send_response(answer.status)
        for key, value in answer.headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)
    except ConnectionError:
        handler.close_connection = True


def _drop(handler: _Handler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
