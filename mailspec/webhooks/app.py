"""A WSGI app that receives one provider's webhooks: stdlib only, mount it anywhere
(:mod:`mailspec.webhooks.asgi` is its ASGI twin, on the same :class:`WebhookReceiver`).

    import os
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    from mailspec.webhooks import WebhookApp

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True  # a thread per request: a slow client holds up no other

    def handle_event(event):
        print(event.type, event.recipient, event.message_id)

    app = WebhookApp("sendcloud", handle_event, secret=os.environ["SENDCLOUD_WEBHOOK_KEY"])
    server = make_server("0.0.0.0", 8080, app, server_class=ThreadingWSGIServer)
    server.serve_forever()

(wsgiref's own server answers one request at a time: a client that opens a connection
and stalls would hold every provider's webhook up behind it.)

Given ``mailer=`` (a :class:`~mailspec.Mailer` or :class:`~mailspec.AsyncMailer`), every
request's events are recorded into it (``mailer.record``: the messages' timelines and the
suppression list) before ``on_event`` sees them, and ``on_event`` becomes optional. A
request is answered 200 only once its events are recorded, so a receiver that dies
mid-request (killed, or its store down: 500) leaves the provider to retry the request,
and the repeat is recorded once.

Answers: 200 when every event was verified and handled; 401 when verification failed
(the body says only that; the reason is logged at WARNING on ``mailspec.webhooks``);
400 for a body that is not the provider's events; 405 for a method other than POST;
411 without a Content-Length (unless the server marks the input terminated); 413 for
a body over ``max_body`` bytes; 500 when ``on_event`` or recording raised (logged with
its traceback). After a 500 the request's tokens are released, so the provider's retry
is accepted: ``on_event`` may then see an event again and should be idempotent (key
on ``event.raw``'s token or the message id and event name).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from wsgiref.util import request_uri

from ..checks import arguments as args
from ..errors import ValidationError, WebhookPayloadError, WebhookVerificationError
from .events import Event
from .receive import Received, parse_with, webhooks_of
from .replay import DEFAULT_GUARD, ReplayGuard
from .signature import require_backend

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from ..spec_model import Spec

__all__ = ["Answer", "WebhookApp", "WebhookReceiver"]

log = logging.getLogger("mailspec.webhooks")

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    500: "Internal Server Error",
}
_CHUNK = 64 * 1024

# status, JSON body, extra headers
Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]


class Recorder(Protocol):
    """What a receiver's ``mailer=`` needs: a Mailer's ``record`` (an AsyncMailer's is
    awaited)."""

    def record(self, events: Sequence[Event], /) -> Any: ...


def refusal(status: int) -> Answer:
    """The answer refusing a request with ``status`` before its body is parsed."""
    if status == 405:
        return 405, {"error": "method not allowed"}, [("Allow", "POST")]
    return status, {"error": REASONS[status].lower()}, []


class WebhookReceiver:
    """What a webhook endpoint does whatever serves it (WSGI or ASGI): verify and parse
    a request's body into events, record them into ``mailer`` and hand them to
    ``on_event`` (either, or both), and answer.

    ``secret`` is what :func:`mailspec.webhooks.parse` verifies with (required for a
    provider that signs its events, unless ``verify=False``). ``tolerance`` and
    ``replay`` are passed on to it; ``clock`` (seconds since the epoch) is for tests.
    """

    def __init__(
        self,
        provider_name: str | Spec,
        on_event: Callable[[Event], object] | None = None,
        *,
        mailer: Recorder | None = None,
        secret: str | None = None,
        max_body: int = 1_000_000,
        verify: bool = True,
        tolerance: float | None = None,
        replay: ReplayGuard | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # an unknown provider fails here; the spec is looked up once, not per request
        self._spec, self._hooks = webhooks_of(provider_name)
        hooks = self._hooks
        provider_name = self._spec.provider.name
        if verify and hooks.signature is not None:
            require_backend(hooks.signature)
        if verify and hooks.signature is not None and not secret:
            raise ValidationError(
                f"{provider_name} signs its webhooks: give secret= (the webhook key)",
                field="secret",
            )
        if verify and hooks.signature is None and not secret:
            log.warning(
                "%s webhooks are accepted unverified: give secret= and put it in the URL",
                provider_name,
            )
        args.whole(max_body, "max_body")  # bytes
        if on_event is None and mailer is None:
            raise ValidationError("give on_event=, mailer=, or both", field="on_event")
        if mailer is not None and not callable(getattr(mailer, "record", None)):
            raise ValidationError(
                f"expected a Mailer or AsyncMailer, got {type(mailer).__name__}", field="mailer"
            )
        self.provider = provider_name
        self.on_event = on_event
        self.mailer = mailer
        self.max_body = max_body
        self.verify = verify
        self.tolerance = tolerance
        self.replay = replay if replay is not None else DEFAULT_GUARD
        self._secret = secret or None  # private, and out of __repr__
        self._clock = clock

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}>"

    def length_problem(self, length_text: str) -> int | None:
        """The status refusing a request that announces ``length_text`` (its
        Content-Length header) bytes, or None when it may be read."""
        if not (length_text.isascii() and length_text.isdigit()):
            return 400
        if len(length_text) > 15 or int(length_text) > self.max_body:
            return 413
        return None

    def parse(self, body: bytes, headers: dict[str, str], url: str, peer: str) -> Received | Answer:
        """The verified events of one request, or the answer refusing it (the reason
        logged at WARNING, never answered)."""
        try:
            return parse_with(
                self._spec,
                self._hooks,
                body,
                headers,
                secret=self._secret,
                now=self._clock() if self._clock else None,
                url=url,
                verify=self.verify,
                tolerance=self.tolerance,
                replay=self.replay,
            )
        except WebhookVerificationError as exc:
            log.warning("refused a %s webhook from %s: %s", self.provider, peer, exc)
            return 401, {"error": "unauthorized"}, []
        except WebhookPayloadError as exc:
            log.warning("bad %s webhook body from %s: %s", self.provider, peer, exc)
            return 400, {"error": str(exc)}, []

    def handled(self, events: Sequence[Event]) -> Answer:
        return 200, {"received": len(events)}, []

    def handler_failed(self, events: Sequence[Event], error: Exception) -> Answer:
        """Log the ``error`` ``on_event`` raised and release the request's tokens, so
        that the provider's retry is accepted."""
        log.error("%s webhook handler failed", self.provider, exc_info=error)
        if isinstance(events, Received) and events.ids:
            self.replay.release(self.provider, events.ids)
        return 500, {"error": "internal error"}, []

    def answer(self, body: bytes, headers: dict[str, str], url: str, peer: str) -> Answer:
        """The whole of one POST whose body was read: parse, hand over, answer."""
        events = self.parse(body, headers, url, peer)
        if isinstance(events, tuple):
            return events
        try:
            if self.mailer is not None:
                self.mailer.record(events)
            if self.on_event is not None:
                for event in events:
                    self.on_event(event)
        except Exception as exc:
            return self.handler_failed(events, exc)
        return self.handled(events)


def encode(answer: Answer) -> tuple[bytes, list[tuple[str, str]]]:
    """An answer's body and its headers."""
    _status, content, extra = answer
    body = json.dumps(content).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return body, headers + extra


class WebhookApp(WebhookReceiver):
    """A WSGI app receiving ``provider_name``'s webhooks and calling
    ``on_event(event)`` for each; the options are :class:`WebhookReceiver`'s."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._handle(environ)
        body, headers = encode(answer)
        start_response(f"{answer[0]} {REASONS[answer[0]]}", headers)
        return [body]

    def _handle(self, environ: WSGIEnvironment) -> Answer:
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return refusal(405)
        body, problem = self._read(environ)
        if body is None:
            return refusal(problem)
        url = request_uri(environ, include_query=True)
        return self.answer(body, _headers(environ), url, _peer(environ))

    def _read(self, environ: WSGIEnvironment) -> tuple[bytes | None, int]:
        """The body, or None and the status refusing it; never more than max_body + 1 bytes."""
        stream = environ["wsgi.input"]
        length_text = (environ.get("CONTENT_LENGTH") or "").strip()
        if not length_text:
            if not environ.get("wsgi.input_terminated"):
                return None, 411  # reading on could block until the client gives up
            data = stream.read(self.max_body + 1)
            return (None, 413) if len(data) > self.max_body else (data, 200)
        problem = self.length_problem(length_text)
        if problem is not None:
            return None, problem
        length = int(length_text)
        chunks, remaining = [], length
        while remaining > 0:
            chunk = stream.read(min(remaining, _CHUNK))
            if not chunk:
                break  # the client sent less than it announced: parse what came
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks), 200


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = str(environ[key])
    return headers


def _peer(environ: WSGIEnvironment) -> str:
    return str(environ.get("REMOTE_ADDR") or "unknown")
