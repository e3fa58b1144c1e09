"""Messages Django itself sends, through ``mailspec.django.EmailBackend`` and a Mailer
over a real SMTP session: no subject, no body, cc or bcc only, an attached email, text
attachments in the message's encoding and a MIMEText's own charset. What the server
receives is read back with ``email.policy.strict``."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage as ParsedMessage
from email.mime.text import MIMEText
from typing import Any

import pytest

from mailspec import Mailer

pytest.importorskip("django")


@pytest.fixture
def django_mail() -> Any:
    """Django's mail module, set up as a bare project would be (or as the Django tests
    of this session set it up already)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEFAULT_FROM_EMAIL="Shop <orders@shop.example>", USE_TZ=True)
        django.setup()
    from django.core import mail

    return mail


@pytest.fixture
def connection(django_mail, plain_server, make_provider) -> Any:
    mailer = Mailer([make_provider(plain_server)], max_attempts=1)
    return django_mail.get_connection("mailspec.django.EmailBackend", mailer=mailer)


def received(server) -> ParsedMessage:
    parsed = email.message_from_bytes(server.recorder.accepted[-1].content, policy=policy.strict)
    assert isinstance(parsed, ParsedMessage)
    return parsed


def test_no_subject_and_no_body(django_mail, connection, plain_server):
    message = django_mail.EmailMessage("", "", to=["ann@example.org"], connection=connection)
    assert message.send() == 1
    parsed = received(plain_server)
    assert parsed["Subject"] == ""
    assert parsed.get_payload(decode=True) in (b"", b"\r\n")


@pytest.mark.parametrize("field", ["cc", "bcc"])
def test_cc_or_bcc_only(django_mail, connection, plain_server, field):
    message = django_mail.EmailMessage(
        "Hi", "Hello", connection=connection, **{field: ["cy@example.org"]}
    )
    assert message.send() == 1
    assert plain_server.recorder.accepted[-1].rcpt_tos == ["cy@example.org"]
    assert "To" not in received(plain_server)


def test_text_attachments_keep_their_charsets(django_mail, connection, plain_server):
    message = django_mail.EmailMessage("Hi", "Hello", to=["ann@example.org"], connection=connection)
    message.encoding = "iso-8859-1"
    message.attach("by-encoding.txt", "Grüße", "text/plain")
    part = MIMEText("Grüße", "plain", "iso-8859-1")
    part.add_header("Content-Disposition", "attachment", filename="mimetext.txt")
    message.attach(part)
    assert message.send() == 1
    attachments = list(received(plain_server).iter_attachments())
    assert [a.get_content_charset() for a in attachments] == ["iso-8859-1", "iso-8859-1"]
    assert [a.get_payload(decode=True) for a in attachments] == ["Grüße".encode("latin-1")] * 2
    assert [a.get_content() for a in attachments] == ["Grüße", "Grüße"]


def test_an_attached_email(django_mail, connection, plain_server):
    original = django_mail.EmailMessage("The original", "Forwarded", to=["bob@example.org"])
    message = django_mail.EmailMessage("Fwd", "See below", to=["ann@example.org"])
    message.attach("original.eml", original, "message/rfc822")
    assert connection.send_messages([message]) == 1
    [attached] = received(plain_server).iter_attachments()
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_content()["Subject"] == "The original"
