"""A local webhook receiver, for the other end of the sandbox's webhooks: one
:class:`~mailspec.webhooks.WebhookApp` per provider behind a stdlib WSGI server on
127.0.0.1, at ``/hooks/<provider>``. The demo uses it; so can your tests."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from ..registry import spec
from ..webhooks import Event, WebhookApp

__all__ = ["webhook_receiver"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per event would bury what the caller prints


@contextmanager
def webhook_receiver(
    providers: Iterable[str], on_event: Callable[[Event], object], *, secret: str | None = None
) -> Iterator[tuple[str, str]]:
    """Receive, verify and hand to ``on_event`` the webhooks of ``providers`` (those
    without webhooks are left out); yields the base URL (``http://127.0.0.1:PORT/hooks``)
    and the key events must be signed with (``secret``, or a random one).

    Requests are served one at a time, so ``on_event`` needs no lock.
    """
    key = secret or secrets.token_hex(16)
    apps = {
        name: WebhookApp(name, on_event, secret=key)
        for name in providers
        if spec(name).webhooks is not None
    }

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        app = apps.get(environ.get("PATH_INFO", "").rpartition("/")[2])
        if app is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks", key
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
