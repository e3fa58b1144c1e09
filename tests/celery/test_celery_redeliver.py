"""The beat-schedulable redelivery task, run by real Celery workers on Redis: a message
its provider never reported on is sent once more through the next provider, once, however
often (and on however many workers) the task runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mailspec import Message
from mailspec.celery import enqueue
from mailspec.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["cloudmails", "sendcloud"]) as running:
        yield running


def test_the_redeliver_task_sends_a_silent_message_once_more_once(
    sandbox, workers, monkeypatch
) -> None:
    monkeypatch.setenv("MAILSPEC_REDELIVER_AFTER", "1")
    sandbox["cloudmails"].set_outcome("queued")  # accepted, and never more than that
    w = workers([sandbox["cloudmails"].url, sandbox["sendcloud"].url])
    w.start()
    w.start()
    message = Message(
        from_email="orders@shop.example", to="lee@example.org", subject="Hi", html="<p>Hi</p>"
    )
    first = enqueue(w.send, message).get(timeout=30)
    assert first["provider"] == "cloudmails"
    early = w.app.send_task("mailspec.redeliver").get(timeout=30)
    assert early == {"polled_events": 1, "redelivered": []}  # queued only, and not late
    time.sleep(1.1)
    runs = [w.app.send_task("mailspec.redeliver") for _ in range(4)]  # on both workers
    outcomes = [run.get(timeout=30) for run in runs]
    redelivered = [r for outcome in outcomes for r in outcome["redelivered"]]
    assert [(r["provider"], r["idempotency_key"]) for r in redelivered] == [
        ("sendcloud", first["idempotency_key"])
    ]
    assert (len(sandbox["cloudmails"].accepted), len(sandbox["sendcloud"].accepted)) == (1, 1)
    (row,) = sandbox["sendcloud"].accepted
    assert row.params["send_request_id"] == first["idempotency_key"]  # the same key
