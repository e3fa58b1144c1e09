"""The webhook view: a signed event posted with Django's test client is verified and
sent as the tracking signal; a bad one is refused; and events the sandbox posts over
HTTP to the running project, for a message sent with send_mail, arrive the same way."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django_support import WEBHOOK_KEY, mailspec_setting, signed_sendcloud_event

from mailspec.django import WebhookView, tracking
from mailspec.sandbox import SandboxServer
from mailspec.webhooks import Event

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def received() -> Iterator[list[tuple[object, Event, str]]]:
    seen: list[tuple[object, Event, str]] = []

    def on_event(sender: object, event: Event, provider: str, **_: object) -> None:
        seen.append((sender, event, provider))

    tracking.connect(on_event, weak=False, dispatch_uid="test-received")
    yield seen
    tracking.disconnect(dispatch_uid="test-received")


def test_a_signed_event_is_sent_as_the_tracking_signal(providers, received) -> None:
    answer = Client().post("/hooks/sendcloud/", signed_sendcloud_event(), content_type=FORM)
    assert answer.status_code == 200
    assert answer.json() == {"received": 1}
    ((sender, event, provider),) = received
    assert sender is WebhookView and provider == "sendcloud"
    assert event.type == "delivered" and event.recipient == "ann@example.org"


def test_a_wrong_signature_is_refused_and_sends_nothing(providers, received) -> None:
    body = signed_sendcloud_event(key="not-the-webhook-key")
    answer = Client().post("/hooks/sendcloud/", body, content_type=FORM)
    assert answer.status_code == 401
    assert WEBHOOK_KEY not in answer.content.decode()
    assert received == []


def test_only_post_is_answered(providers) -> None:
    assert Client().get("/hooks/sendcloud/").status_code == 405


def test_a_body_over_max_body_is_refused_before_it_is_parsed(providers, received) -> None:
    answer = Client().post("/hooks/sendcloud-small/", signed_sendcloud_event(), content_type=FORM)
    assert answer.status_code == 413
    assert answer.json() == {"error": "content too large"}
    assert received == []


def test_a_failing_receiver_answers_500_and_the_retry_is_accepted(providers, received) -> None:
    def broken(**_: object) -> None:
        raise RuntimeError("the database is down")

    tracking.connect(broken, weak=False, dispatch_uid="test-broken")
    body = signed_sendcloud_event()
    try:
        assert Client().post("/hooks/sendcloud/", body, content_type=FORM).status_code == 500
    finally:
        tracking.disconnect(dispatch_uid="test-broken")
    # the provider posts the same event again: its token was released, so it is taken
    assert Client().post("/hooks/sendcloud/", body, content_type=FORM).status_code == 200
    assert len(received) == 2


def test_a_signing_provider_without_its_secret_is_improperly_configured(sendcloud) -> None:
    setting = mailspec_setting(sendcloud, WEBHOOK_SECRETS={})
    with override_settings(MAILSPEC=setting), pytest.raises(ImproperlyConfigured) as bad:
        Client().post("/hooks/sendcloud/", signed_sendcloud_event(), content_type=FORM)
    assert "MAILSPEC['WEBHOOK_SECRETS']" in str(bad.value)


def test_events_of_a_sent_message_reach_the_running_project(
    sendcloud: SandboxServer, live_server: str, received
) -> None:
    poster = sendcloud.send_webhooks(f"{live_server}/hooks/sendcloud/", secret=WEBHOOK_KEY)
    email = mail.EmailMessage("Hi", "Hello", to=["ann@example.org"])
    with override_settings(MAILSPEC=mailspec_setting(sendcloud)):
        assert email.send() == 1
        assert poster.flush(timeout=10)
        sendcloud.advance(email.mailspec_status.message_ids[0], "opened")
        assert poster.flush(timeout=10)
    deadline = time.monotonic() + 5  # the server thread may still be handling the last one
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [p.status for p in poster.posted] == [200] * len(poster.posted)
    types = [event.type for _, event, _ in received]
    assert "queued" in types and types[-1] == "opened"
    assert {event.message_id for _, event, _ in received} == set(email.mailspec_status.message_ids)


def test_a_view_given_a_mailer_records_the_events_and_still_sends_the_signal(
    providers, received
) -> None:
    from django_test_urls import RECORDING

    body = signed_sendcloud_event("invalid", recipient="Zed@Example.org")  # a hard bounce
    answer = Client().post("/hooks/sendcloud-recorded/", body, content_type=FORM)
    assert answer.status_code == 200
    found = RECORDING.suppressions.get("zed@example.org")
    assert found is not None and (found.reason, found.provider) == ("bounced", "sendcloud")
    assert [event.type for _, event, _ in received] == ["bounced"]
