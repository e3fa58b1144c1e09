"""An SMTP provider among others: a Mailer fails over between it and HTTP providers, and
status() goes to the REST API."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest
from smtp_support import PASSWORD, USER, message, refused_port

import mailspec
from mailspec import AllProvidersFailed, DeliveryState, Mailer, TransportError

STATUS_PATH = "/api/data/emailStatus"
SEND_PATH = "/api/mail/send"


def mailer(providers, **options):
    """A Mailer whose waits are recorded, not slept (the clock is the only thing faked)."""
    slept: list[float] = []
    built = Mailer(providers, sleep=slept.append, random=random.Random(7), **options)
    return built, slept


def test_fails_over_from_a_dead_smtp_provider_to_a_working_one(plain_server, make_provider):
    dead = make_provider(plain_server, smtp_port=refused_port())
    alive = make_provider(plain_server)
    send_via, slept = mailer([dead, alive], max_attempts=2)
    result = send_via.send(message())
    assert result.provider == "aurorasendcloud#2"
    outcomes = [(a.provider, a.outcome) for a in result.attempts]
    assert outcomes == [
        ("aurorasendcloud", "failed"),
        ("aurorasendcloud", "failed"),
        ("aurorasendcloud#2", "accepted"),
    ]
    assert all(isinstance(a.error, TransportError) for a in result.attempts[:2])
    assert len(slept) == 1  # one backoff between the two tries of the dead one
    assert len(plain_server.recorder.accepted) == 1


def test_fails_over_from_smtp_to_http(plain_server, make_provider, httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"result": True, "statusCode": 200, "message": "ok", "info": {"emailIdList": ["e1"]}}
    )
    dead = make_provider(plain_server, smtp_port=refused_port())
    rest = mailspec.provider(
        "aurorasendcloud", api_user=USER, api_key=PASSWORD, base_url=httpserver.url_for("/")
    )
    send_via, _ = mailer([dead, rest], max_attempts=1)
    result = send_via.send(message())
    assert (result.provider, result.message_ids) == ("aurorasendcloud#2", ["e1"])
    assert isinstance(result.attempts[0].error, TransportError)
    rest.client.close()


def test_an_ambiguous_smtp_failure_stops_the_mailer(plain_server, make_provider):
    plain_server.recorder.behaviour.pause_after_data = 5.0
    hanging = make_provider(plain_server, timeout=0.3)
    other = make_provider(plain_server)
    send_via, _ = mailer([hanging, other])
    with pytest.raises(AllProvidersFailed) as caught:
        send_via.send(message())
    assert caught.value.ambiguous
    assert [a.provider for a in caught.value.attempts] == ["aurorasendcloud"]


def test_the_mailer_keeps_refused_recipients_on_its_result(plain_server, make_provider):
    plain_server.recorder.behaviour.rcpt_replies = {"bob@example.org": "550 5.1.1 No such user"}
    send_via, _ = mailer([make_provider(plain_server)])
    result = send_via.send(message(to=["ann@example.org", "bob@example.org"]))
    assert result.refused == {"bob@example.org": "550 5.1.1 No such user"}


def test_a_template_message_skips_the_smtp_provider(plain_server, make_provider):
    send_via, _ = mailer([make_provider(plain_server)])
    with pytest.raises(AllProvidersFailed) as caught:
        send_via.send(message(template="welcome"))
    [attempt] = caught.value.attempts
    assert attempt.outcome == "skipped"
    assert plain_server.recorder.ehlo_names == []


def test_status_goes_to_the_rest_api_with_the_same_credentials(
    plain_server, make_provider, httpserver
):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_json(
        {
            "result": True,
            "statusCode": 200,
            "message": "ok",
            "info": {"voList": [{"emailId": "id-1", "status": 1}], "total": 1},
        }
    )
    provider = make_provider(plain_server, base_url=httpserver.url_for("/"))
    [status] = provider.status(["id-1"])
    assert (status.message_id, status.state) == ("id-1", DeliveryState.DELIVERED)
    [(request, _)] = httpserver.log
    assert request.args["api_user"] == USER and request.args["api_key"] == PASSWORD
    assert request.args["emailIds"] == "id-1"


def test_ctrl_c_after_the_content_was_sent_is_not_sent_again(plain_server, make_provider):
    """A real SIGINT while the server sits on its answer to the content: the key stays
    maybe sent, so sending it again does not hand the server a second copy."""
    recorder = plain_server.recorder
    recorder.behaviour.pause_after_data = 1.0
    send_via, _ = mailer([make_provider(plain_server)])
    main = threading.main_thread().ident or 0

    def interrupt_once_held() -> None:
        for _ in range(500):  # 5 s at most
            if recorder.content_seen:
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.01)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_once_held, daemon=True)
    try:
        watcher.start()
        with pytest.raises(KeyboardInterrupt):
            send_via.send(message(idempotency_key="smtp-cut"))
        watcher.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    recorder.behaviour.pause_after_data = 0.0
    with pytest.raises(AllProvidersFailed) as again:
        send_via.send(message(idempotency_key="smtp-cut"))
    assert again.value.ambiguous and "cannot be asked" in str(again.value)
    assert len(recorder.content_seen) == 1
