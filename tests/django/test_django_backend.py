"""Django's own send_mail and EmailMultiAlternatives, through EMAIL_BACKEND =
"mailspec.django.EmailBackend", to sandbox servers over HTTP: every part of a message
arrives, a provider that is down is failed over, and fail_silently works both ways."""

from __future__ import annotations

import logging
from email.mime.image import MIMEImage

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import override_settings
from django_support import mailspec_setting

from mailspec import AllProvidersFailed, Mailer, SendResult, ValidationError
from mailspec.django import EmailBackend, get_mailer
from mailspec.sandbox import SandboxServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_send_mail_goes_out_with_the_sender_name(providers) -> None:
    sendcloud, _ = providers
    sent = mail.send_mail("Your order", "It ships today.", None, ["Ann <ann@example.org>"])
    assert sent == 1
    (row,) = sendcloud.accepted
    assert row.params["from_email"] == "orders@shop.example"
    assert row.params["from_name"] == "Shop"
    assert row.params["to"] == ["ann@example.org"]
    assert row.params["subject"] == "Your order"
    assert row.params["plain"] == "It ships today."
    assert "html" not in row.params


def test_every_part_of_a_multipart_message_arrives(providers) -> None:
    sendcloud, _ = providers
    email = EmailMultiAlternatives(
        subject="Invoice 42",
        body="Your invoice is attached.",
        from_email='"Shop, Orders" <orders@shop.example>',
        to=["ann@example.org"],
        cc=["Bob <bob@example.org>"],
        bcc=["audit@shop.example"],
        reply_to=["help@shop.example"],
        headers={"X-Order": "42"},
    )
    email.attach_alternative("<p>Your invoice is attached.</p>", "text/html")
    email.attach("invoice.pdf", b"%PDF-1.4 ...", "application/pdf")
    email.attach("notes.txt", "paid in full")  # str content, type guessed from the name
    email.tags = ["invoice"]
    email.metadata = {"order": 42}
    assert email.send() == 1

    row = sendcloud.accepted[0]
    params = row.params
    assert params["from_name"] == "Shop, Orders"
    assert params["cc"] == ["bob@example.org"]
    assert params["bcc"] == ["audit@shop.example"]
    assert params["reply_to"] == ["help@shop.example"]
    assert params["html"] == "<p>Your invoice is attached.</p>"
    assert params["plain"] == "Your invoice is attached."
    assert params["headers"]["X-Order"] == "42"
    assert params["headers"]["X-Mailspec-Tags"] == '["invoice"]'
    assert params["headers"]["X-Mailspec-Metadata"] == '{"order":"42"}'
    invoice, notes = params["attachments"]
    assert (invoice.filename, invoice.content, invoice.content_type) == (
        "invoice.pdf",
        b"%PDF-1.4 ...",
        "application/pdf",
    )
    # str text is written in the message's encoding (DEFAULT_CHARSET), which it says
    assert (notes.content, notes.content_type) == (b"paid in full", "text/plain; charset=utf-8")

    status = email.mailspec_status
    assert isinstance(status, SendResult)
    assert status.provider == "sendcloud"
    assert status.message_ids == [row.message_id]
    assert email.anymail_status.status == {"queued"}
    assert email.anymail_status.message_id == row.message_id
    assert email.anymail_status.recipients["audit@shop.example"].status == "queued"


def test_an_inline_image_keeps_its_content_id_at_a_provider_that_carries_it(
    sendcloud: SandboxServer, cloudmails: SandboxServer
) -> None:
    email = EmailMultiAlternatives("Welcome", "Hello", to=["ann@example.org"])
    email.attach_alternative('<p><img src="cid:logo"></p>', "text/html")
    image = MIMEImage(PNG, "png")
    image.add_header("Content-ID", "<logo>")
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    email.attach(image)
    with override_settings(MAILSPEC=mailspec_setting(sendcloud, cloudmails)):
        assert email.send() == 1
    # SendCloud has no place for a content id: it is skipped, not sent a broken image
    assert sendcloud.requests == 0
    assert email.mailspec_status.provider == "cloudmails"
    assert email.mailspec_status.attempts[0].outcome == "skipped"
    (attachment,) = cloudmails.accepted[0].params["attachments"]
    assert (attachment.filename, attachment.content_id) == ("logo.png", "logo")
    assert (attachment.content, attachment.content_type) == (PNG, "image/png")


def test_anymail_template_attributes_send_a_template(providers) -> None:
    sendcloud, _ = providers
    email = EmailMessage(to=["ann@example.org", "bob@example.org"])
    email.template_id = "order_shipped"
    email.merge_global_data = {"shop": "Shop"}
    email.merge_data = {"ann@example.org": {"name": "Ann"}, "bob@example.org": {"name": 7}}
    assert email.send() == 1
    params = sendcloud.accepted[0].params
    assert params["template_invoke_name"] == "order_shipped"
    assert sendcloud.accepted[0].operation == "send_template"
    assert params["xsmtpapi"]["to"] == ["ann@example.org", "bob@example.org"]
    assert params["xsmtpapi"]["sub"] == {"%name%": ["Ann", "7"], "%shop%": ["Shop", "Shop"]}


def test_a_provider_that_is_down_is_failed_over(providers) -> None:
    sendcloud, aurora = providers
    sendcloud.faults.queue("server_error")
    assert mail.send_mail("Hi", "Hello", None, ["ann@example.org"]) == 1
    assert sendcloud.accepted == [] and sendcloud.requests == 1
    assert [row.recipient for row in aurora.accepted] == ["ann@example.org"]


def test_no_provider_accepting_raises_without_fail_silently(providers) -> None:
    for server in providers:
        server.faults.queue("server_error")
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    with pytest.raises(AllProvidersFailed) as failed:
        email.send()
    assert len(failed.value.attempts) == 2
    assert email.mailspec_status is None
    assert email.anymail_status.status is None  # as anymail leaves a message not sent


def test_fail_silently_logs_and_counts_only_the_messages_sent(providers, caplog) -> None:
    sendcloud, aurora = providers
    sendcloud.faults.queue(None)  # the first message goes out at once
    sendcloud.faults.queue("server_error")
    aurora.faults.queue("server_error")  # the second finds every provider down
    messages = [EmailMessage(f"m{i}", "Hello", to=["ann@example.org"]) for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="mailspec.django"):
        sent = mail.get_connection(fail_silently=True).send_messages(messages)
    assert sent == 2
    assert [m.mailspec_status is not None for m in messages] == [True, False, True]
    (record,) = [r for r in caplog.records if r.name == "mailspec.django"]
    assert record.getMessage().startswith("a message was not sent: every provider failed")
    assert sendcloud.url not in caplog.text  # nor any credential it carries


def test_a_message_error_is_raised_unless_fail_silently(providers) -> None:
    email = EmailMessage("Hi", "Hello", to=["not an address"])
    with pytest.raises(ValidationError) as refused:
        email.send()
    assert refused.value.field == "to"
    assert EmailMessage("Hi", "Hello", to=["not an address"]).send(fail_silently=True) == 0


def test_an_anymail_attribute_without_a_field_is_refused_not_ignored(providers) -> None:
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    email.merge_headers = {"ann@example.org": {"X-Ann": "1"}}
    with pytest.raises(ValidationError) as refused:
        email.send()
    assert refused.value.field == "merge_headers"
    assert providers[0].requests == 0


def test_an_idempotency_key_sends_a_message_once(providers) -> None:
    sendcloud, _ = providers
    first = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    first.idempotency_key = "order-42-shipped"
    again = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    again.idempotency_key = "order-42-shipped"
    assert first.send() == 1 and again.send() == 1
    assert again.mailspec_status.replayed
    assert len(sendcloud.accepted) == 1


def test_the_mailer_is_built_once_and_again_when_the_setting_changes(
    sendcloud: SandboxServer, aurora: SandboxServer
) -> None:
    with override_settings(MAILSPEC=mailspec_setting(sendcloud)):
        mailer = get_mailer()
        assert get_mailer() is mailer
        assert mail.send_mail("Hi", "Hello", None, ["ann@example.org"]) == 1
    with override_settings(MAILSPEC=mailspec_setting(aurora)):
        assert get_mailer() is not mailer
        assert get_mailer().providers == ["aurorasendcloud"]
        assert mail.send_mail("Hi", "Hello", None, ["ann@example.org"]) == 1
    assert len(sendcloud.accepted) == 1 and len(aurora.accepted) == 1


def test_a_connection_may_be_given_its_own_mailer(aurora: SandboxServer) -> None:
    connection = mail.get_connection(mailer=Mailer([aurora.provider()]))
    assert isinstance(connection, EmailBackend)
    assert mail.send_mail("Hi", "Hello", None, ["ann@example.org"], connection=connection) == 1
    assert len(aurora.accepted) == 1
