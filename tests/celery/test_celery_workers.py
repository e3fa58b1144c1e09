"""Sending from real Celery worker processes (tests/celery/celery_app.py) with Redis as
broker, result backend and store, through sandbox providers over real HTTP: a queued
message is sent once, a key queued twice is replayed, and a worker killed with SIGKILL
mid-send has its task redelivered to another worker, which resolves the key instead of
sending the message again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import pytest

from mailspec import Attachment, IdempotencyConflict, MailspecError, Message
from mailspec.celery import enqueue, message_from_payload, message_payload
from mailspec.sandbox import Fault, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["sendcloud", "cloudmails"], slow_seconds=2.0) as running:
        yield running


def receipt(key: str | None = None) -> Message:
    return Message(
        from_email="Shop <orders@shop.example>",
        to="ann@example.org",
        subject="Your receipt",
        html="<p>Thanks</p>",
        attachments=[Attachment("r.pdf", b"%PDF-1.4\x00\xff", "application/pdf")],
        metadata={"order_id": "1042"},
        idempotency_key=key,
    )


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


def test_a_message_round_trips_through_its_payload() -> None:
    message = receipt("k-1")
    assert message_from_payload(message_payload(message)) == message


def test_a_queued_message_is_sent_once(sandbox, workers) -> None:
    w = workers([sandbox["sendcloud"].url, sandbox["cloudmails"].url])
    w.start()
    result = enqueue(w.send, receipt()).get(timeout=30)
    assert result["provider"] == "sendcloud" and result["replayed"] is False
    assert len(result["idempotency_key"]) == 32  # set by enqueue, before queueing
    (row,) = sandbox["sendcloud"].accepted
    assert row.params["send_request_id"] == result["idempotency_key"]
    assert [a.filename for a in row.params["attachments"]] == ["r.pdf"]


def test_a_key_queued_twice_is_sent_once(sandbox, workers) -> None:
    w = workers([sandbox["cloudmails"].url])
    w.start()
    first = enqueue(w.send, receipt("order-1042")).get(timeout=30)
    again = enqueue(w.send, receipt("order-1042")).get(timeout=30)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["message_ids"] == first["message_ids"]
    assert held(sandbox) == {"sendcloud": 0, "cloudmails": 1}


def test_a_key_queued_again_with_another_message_is_refused(sandbox, workers) -> None:
    """The second task's message goes to another recipient under the first one's key:
    it ends with IdempotencyConflict (not retried), nothing sent, nothing replayed."""
    w = workers([sandbox["cloudmails"].url])
    w.start()
    first = enqueue(w.send, receipt("order-1043")).get(timeout=30)
    other = msgspec.structs.replace(receipt("order-1043"), to=["bob@example.org"])
    with pytest.raises(IdempotencyConflict) as caught:  # as Celery rebuilds it
        enqueue(w.send, other).get(timeout=30)
    assert caught.value.idempotency_key == "order-1043"
    assert "'order-1043' was already used for a different message" in str(caught.value)
    assert first["replayed"] is False
    assert [row.recipient for row in sandbox["cloudmails"].accepted] == ["ann@example.org"]
    assert sandbox["cloudmails"].requests == 1


def test_a_worker_killed_mid_send_is_redelivered_and_nothing_is_sent_twice(
    sandbox, workers
) -> None:
    """The first worker's request reaches SendCloud, which holds it for 2 s before it
    accepts the message; the worker is killed meanwhile. The broker hands the task to
    the second worker, which finds the key's claim expired with SendCloud noted, sends
    the key there again, and SendCloud (deduplicating) answers as it did the first time."""
    w = workers([sandbox["sendcloud"].url, sandbox["cloudmails"].url])
    first = w.start()
    sandbox["sendcloud"].faults.queue(Fault.SLOW)
    pending = enqueue(w.send, receipt("killed-mid-send"))
    deadline = time.monotonic() + 30
    while sandbox["sendcloud"].requests == 0:  # the request is in: the send is under way
        assert time.monotonic() < deadline, w.log()
        time.sleep(0.02)
    w.kill(first)
    w.start()
    result = pending.get(timeout=60)
    assert result["provider"] == "sendcloud", result
    assert held(sandbox) == {"sendcloud": 1, "cloudmails": 0}
    assert sandbox["sendcloud"].requests >= 2  # the key, sent again to resolve it
    assert sandbox["cloudmails"].requests == 0  # and nowhere else


def test_a_worker_killed_mid_send_to_a_provider_that_cannot_be_asked_sends_nothing_again(
    sandbox, workers
) -> None:
    """CloudMails documents no idempotency key: the second worker cannot ask whether the
    dead worker's request got through, so it sends the message nowhere (the task fails
    as ambiguous) rather than possibly twice. Without the ledger it would send it again."""
    w = workers([sandbox["cloudmails"].url, sandbox["sendcloud"].url])
    first = w.start()
    sandbox["cloudmails"].faults.queue(Fault.SLOW)
    pending = enqueue(w.send, receipt("unaskable"))
    deadline = time.monotonic() + 30
    while sandbox["cloudmails"].requests == 0:
        assert time.monotonic() < deadline, w.log()
        time.sleep(0.02)
    w.kill(first)
    w.start()
    with pytest.raises(MailspecError) as caught:  # as Celery rebuilds the task's error
        pending.get(timeout=60)
    assert "may have reached cloudmails, which cannot be asked" in str(caught.value)
    assert held(sandbox) == {"sendcloud": 0, "cloudmails": 1}
    assert sandbox["sendcloud"].requests == 0


def test_an_ambiguous_outcome_at_a_deduplicating_provider_is_resolved_by_a_retry(
    sandbox, workers
) -> None:
    """SendCloud takes the message, then the connection drops before its answer, on
    every one of the send's three attempts: the send ends ambiguous. SendCloud
    deduplicates the key, so the task retries, sends the key there again, and is
    answered as the first time: delivered once, and never sent to CloudMails."""
    w = workers([sandbox["sendcloud"].url, sandbox["cloudmails"].url])
    w.start()
    sandbox["sendcloud"].faults.queue(Fault.DROP_AFTER, times=3)
    result = enqueue(w.send, receipt("dropped-thrice")).get(timeout=60)
    assert result["provider"] == "sendcloud", result
    assert sandbox["sendcloud"].requests == 4  # three in the first delivery, one retried
    assert held(sandbox) == {"sendcloud": 1, "cloudmails": 0}
