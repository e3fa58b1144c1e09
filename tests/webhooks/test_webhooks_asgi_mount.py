"""The documented ASGI pattern end to end: ``app.mount("/hooks/sendcloud",
WebhookASGIApp(...))`` in a Starlette app served by uvicorn, and ``mailspec sandbox
--webhook-url http://…/hooks`` as its own process posting to it. A mount serves
``/hooks/sendcloud/`` and Starlette redirects ``/hooks/sendcloud`` there (307): the
sandbox follows that one redirect, says which URL to register, and every event arrives.
A ``Route`` at ``/hooks/sendcloud`` takes them at once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount, Route

import mailspec
from mailspec import EventType, Message
from mailspec.webhooks import Event
from mailspec.webhooks.asgi import WebhookASGIApp

SECRET = "asgi-mount-webhook-key-9"
MESSAGES = 5


class Served:
    """A Starlette app behind uvicorn on a free port of 127.0.0.1."""

    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def _app(form: str, events: list[Event]) -> Starlette:
    hooks = WebhookASGIApp("sendcloud", events.append, secret=SECRET)
    if form == "mount":  # as docs/webhooks.md and docs/providers.md show it
        app = Starlette()
        app.mount("/hooks/sendcloud", hooks)
        return app
    return Starlette(
        routes=[Route("/hooks/sendcloud", hooks, methods=["POST"]), Mount("/x", hooks)]
    )


@pytest.fixture(params=["mount", "route"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, list[Event]]]:
    events: list[Event] = []
    server = Served(_app(request.param, events))
    try:
        yield request.param, server.url, events
    finally:
        server.close()


def test_the_sandbox_command_delivers_every_event_to_the_documented_pattern(served) -> None:
    form, url, events = served
    command = ["sandbox", "sendcloud", "--json", "--seconds", "60", "--webhook-url", f"{url}/hooks"]
    process = subprocess.Popen(
        [sys.executable, "-m", "mailspec", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MAILSPEC_WEBHOOK_SECRET": SECRET},
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the JSON listing, then the process waits
            lines.append(line)
            if line.rstrip() == "]":
                break
        (row,) = json.loads("".join(lines))
        sendcloud = mailspec.provider_from_url(row["url"])
        sent = [
            sendcloud.send(
                Message(
                    from_email="shop@example.com", to=["ann@example.org"], subject="Hi", text="x"
                )
            ).message_ids[0]
            for _ in range(MESSAGES)
        ]
        deadline = time.monotonic() + 20
        while len(events) < 2 * MESSAGES and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    received = sorted((e.message_id, e.type.value) for e in events)
    expected = sorted((i, t.value) for i in sent for t in (EventType.QUEUED, EventType.DELIVERED))
    assert received == expected
    redirected = f"redirected to {url}/hooks/sendcloud/" in stderr
    assert redirected == (form == "mount"), stderr
    assert "lost" not in stderr
