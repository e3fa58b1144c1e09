"""`mailspec sandbox --webhook-url`: the sandbox runs as its own process and posts signed
events to a WebhookApp, as a user wiring up their receiver would run it; without a
signing key it refuses to start rather than post events nobody can verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import mailspec
from mailspec import EventType, Message
from mailspec.sandbox.collector import webhook_receiver
from mailspec.webhooks import Event

SECRET = "cli-sandbox-webhook-key-7"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Event]]]:
    events: list[Event] = []
    with webhook_receiver(["sendcloud"], events.append, secret=SECRET) as (url, _):
        yield url, events


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


def test_webhook_url_without_a_key_is_refused() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MAILSPEC_WEBHOOK_SECRET"}
    command = ["sandbox", "sendcloud", "--seconds", "5", "--webhook-url", "http://127.0.0.1:9/"]
    done = subprocess.run(
        [sys.executable, "-m", "mailspec", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert "$MAILSPEC_WEBHOOK_SECRET" in done.stderr
