"""`mailspec sandbox --webhook-url`: the sandbox runs as its own process and posts signed
events to a WebhookApp, as a user wiring up their receiver would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

import mailspec
from mailspec import EventType, Message
from mailspec.webhooks import Event, WebhookApp

SECRET = "cli-sandbox-webhook-key-7"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Event]]]:
    events: list[Event] = []
    app = WebhookApp("sendcloud", events.append, secret=SECRET)

    def dispatch(environ, start_response):  # type: ignore[no-untyped-def]
        assert environ["PATH_INFO"] == "/hooks/sendcloud"
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", events
    server.shutdown()
    server.server_close()


def test_the_sandbox_command_posts_verified_webhooks(receiver) -> None:
    url, events = receiver
    command = ["sandbox", "sendcloud", "--json", "--seconds", "30", "--webhook-url", url]
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
        sendcloud = mailspec.provider("sendcloud", base_url=row["base_url"], **row["credentials"])
        result = sendcloud.send(
            Message(from_email="shop@example.com", to=["ann@example.org"], subject="Hi", text="x")
        )
        deadline = time.monotonic() + 10
        while len(events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert [(e.type, e.message_id) for e in events] == [
        (EventType.QUEUED, result.message_ids[0]),
        (EventType.DELIVERED, result.message_ids[0]),
    ]
    assert SECRET not in "".join(lines) + stderr
