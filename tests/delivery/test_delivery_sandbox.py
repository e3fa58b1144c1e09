"""The sandbox reports after acceptance as providers do, on demand: silence, events in
any order and repeated, held back and released shuffled, retried with backoff while the
receiver is down, and status lookups that say what became of a message."""

from __future__ import annotations

import time

from delivery_support import SECRET, A, B, Receiver, message

from mailspec import DeliveryState, EventType, Mailer
from mailspec.sandbox import SandboxServer


def test_a_silent_outcome_posts_nothing_at_all() -> None:
    receiver = Receiver(B)
    with SandboxServer(B) as sandbox:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        sandbox.set_outcome("delivered", report=False)
        Mailer([sandbox.provider()]).send(message("mo@example.org"))
        sandbox.set_outcome("delivered")
        Mailer([sandbox.provider()]).send(message("ned@example.org"))
        assert poster.flush(10)
    receiver.close()
    assert [(e.recipient, e.type) for e in receiver.events] == [
        ("ned@example.org", EventType.QUEUED),
        ("ned@example.org", EventType.DELIVERED),
    ]


def test_report_posts_any_order_and_repeats_with_the_events_own_time() -> None:
    receiver = Receiver(A)
    with SandboxServer(A) as sandbox:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        sandbox.set_outcome("queued", report=False)
        Mailer([sandbox.provider()]).send(message("ola@example.org"))
        (row,) = sandbox.accepted
        # "failed" has no CloudMails webhook event: left out, as CloudMails would
        assert sandbox.report(row.message_id, "delivered", "bounced", "failed", repeat=2) == 4
        assert poster.flush(10)
    receiver.close()
    types = [e.type for e in receiver.events]
    assert types == [EventType.DELIVERED, EventType.BOUNCED] * 2
    assert len({e.timestamp for e in receiver.events}) == 1  # a repeat keeps its time


def test_held_events_are_released_shuffled_and_repeated() -> None:
    receiver = Receiver(B)
    with SandboxServer(B) as sandbox:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        poster.hold()
        sandbox.set_outcome("clicked")
        Mailer([sandbox.provider()]).send(message("pat@example.org"))
        assert poster.flush(1) and receiver.events == []  # held back
        assert poster.release(order="reversed", repeat=2) == 8
        assert poster.flush(10)
    receiver.close()
    made = [EventType.QUEUED, EventType.DELIVERED, EventType.OPENED, EventType.CLICKED]
    assert [e.type for e in receiver.events] == list(reversed(made * 2))


def test_an_event_is_posted_again_after_each_retry_delay_until_the_receiver_is_up() -> None:
    with SandboxServer(B) as sandbox:
        receiver = Receiver(B)
        url = receiver.url
        receiver.close()  # down
        poster = sandbox.send_webhooks(url, secret=SECRET, retry_delays=(0.3, 0.3, 0.3, 5))
        sandbox.set_outcome("queued")
        started = time.monotonic()
        Mailer([sandbox.provider()]).send(message("quin@example.org"))
        time.sleep(0.45)
        # up again on the same port, within the retries
        from wsgiref.simple_server import make_server

        from mailspec.webhooks import WebhookApp

        got: list = []
        port = int(url.split(":")[2].split("/")[0])
        server = make_server("127.0.0.1", port, WebhookApp(B, got.append, secret=SECRET))
        server.timeout = 0.1
        while not got and time.monotonic() - started < 5:
            server.handle_request()
        server.server_close()
        assert poster.flush(10)
    assert [e.type for e in got] == [EventType.QUEUED]
    assert poster.posted[-1].status == 200


def test_a_queued_message_has_its_providers_sending_status_not_a_bounce() -> None:
    with SandboxServer(A) as sandbox:
        sandbox.set_outcome("queued")
        mailer = Mailer([sandbox.provider()])
        result = mailer.send(message("ray@example.org"))
        (status,) = mailer.status(result)
    assert status.state is DeliveryState.SENDING  # CloudMails' "sent"
