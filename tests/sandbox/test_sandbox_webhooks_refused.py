"""An event the receiver does not take (a 4xx, a redirect elsewhere, no answer) is
logged as a WARNING naming its status and counted on ``poster.failed``: the sandbox
never drops an event without a word."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from test_sandbox_webhooks import SECRET, _message, _Receiver, _sandbox
from test_sandbox_webhooks import receiver as receiver  # the fixture


@pytest.fixture
def refusing() -> Iterator[_Receiver]:
    server = _Receiver(status=403)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_refused_event_is_logged_and_counted(refusing, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="mailspec.sandbox")
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks(refusing.url, secret=SECRET)
        sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush(timeout=20)
    finally:
        sandbox.stop()
    assert [p.status for p in poster.failed] == [403, 403]
    lost = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 2
    assert f"to {refusing.url} lost: the receiver answered 403" in lost[0]


def test_an_unreachable_receiver_is_logged_and_counted(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="mailspec.sandbox")
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks("http://127.0.0.1:9/hooks", secret=SECRET)  # refused
        sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush(timeout=20)
    finally:
        sandbox.stop()
    assert len(poster.failed) == 2
    assert sum("could not be reached" in r.getMessage() for r in caplog.records) == 2


def test_an_accepted_event_is_not_counted(receiver) -> None:
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush(timeout=20)
    finally:
        sandbox.stop()
    assert len(poster.posted) == 2
    assert poster.failed == []
