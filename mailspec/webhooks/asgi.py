"""An ASGI app that receives one provider's webhooks, for FastAPI, Starlette or any
ASGI server; it needs no package of its own.

    from fastapi import FastAPI
    from mailspec.webhooks.asgi import WebhookASGIApp

    api = FastAPI()
    api.mount("/hooks/sendcloud", WebhookASGIApp("sendcloud", handle_event, secret=KEY))

The same :class:`~mailspec.webhooks.app.WebhookReceiver` as :class:`WebhookApp`
verifies, hands over and answers, so the answers are the same (see
:mod:`mailspec.webhooks.app`), except that a body without a Content-Length is read up
to ``max_body`` (an ASGI server delimits it) rather than refused with 411.

``on_event`` may be a coroutine function, awaited on the event loop, and ``mailer`` an
:class:`~mailspec.AsyncMailer`, whose ``record`` is awaited; a plain function (a
:class:`~mailspec.Mailer`'s ``record``) runs in a worker thread, as verification does (a replay guard on a shared store does
I/O), so the loop is never blocked. The worker threads are asyncio's: the app runs on
asyncio-based servers (uvicorn, hypercorn's asyncio mode).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from .app import Answer, WebhookReceiver, encode, refusal
from .events import Event

__all__ = ["WebhookASGIApp"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class WebhookASGIApp(WebhookReceiver):
    """An ASGI app receiving ``provider_name``'s webhooks and calling
    ``on_event(event)`` for each; the options are :class:`WebhookReceiver`'s."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # a websocket: not accepted, so the server closes it
        answer = await self._handle(scope, receive)
        body, headers = encode(answer)
        await send(
            {
                "type": "http.response.start",
                "status": answer[0],
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> Answer:
        if scope.get("method", "GET").upper() != "POST":
            return refusal(405)
        headers = _headers(scope)
        length_text = headers.get("Content-Length", "").strip()
        if length_text:
            problem = self.length_problem(length_text)
            if problem is not None:
                return refusal(problem)
        body = await self._read(receive)
        if body is None:
            return refusal(413)
        peer = str((scope.get("client") or ("unknown",))[0])
        if not (_awaited(self.on_event) or _awaited(getattr(self.mailer, "record", None))):
            return await asyncio.to_thread(self.answer, body, headers, _url(scope), peer)
        events = await asyncio.to_thread(self.parse, body, headers, _url(scope), peer)
        if isinstance(events, tuple):
            return events
        return await self._hand_over(events)

    async def _hand_over(self, events: Sequence[Event]) -> Answer:
        try:
            if self.mailer is not None:
                if _awaited(self.mailer.record):
                    await self.mailer.record(events)
                else:
                    await asyncio.to_thread(self.mailer.record, events)
            for event in events if self.on_event is not None else ():
                assert self.on_event is not None
                handled = self.on_event(event)
                if inspect.isawaitable(handled):
                    await handled
        except Exception as exc:
            return await asyncio.to_thread(self.handler_failed, events, exc)
        return self.handled(events)

    async def _read(self, receive: Receive) -> bytes | None:
        """The body, or None past ``max_body`` bytes (never more is kept)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break  # the client went away: parse what came, as the WSGI app does
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _awaited(function: object) -> bool:
    return function is not None and inspect.iscoroutinefunction(function)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: answer the server's startup and shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers, named as the WSGI app names them (``Content-Type``…)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").title()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _url(scope: Scope) -> str:
    """The request's URL with its query string, as ``wsgiref.util.request_uri`` makes it."""
    scheme = scope.get("scheme", "http")
    host = _headers(scope).get("Host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    path = scope.get("root_path", "") + scope.get("path", "/")
    if scope.get("root_path") and scope.get("path", "").startswith(scope["root_path"]):
        path = scope["path"]  # Starlette's mounts keep the prefix in ``path`` too
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
