"""What django-anymail users send arrives as anymail would send it: its own
``AnymailMessage`` (whose unset attributes hold anymail's ``UNSET``), lazy strings,
an html body with a text alternative, text attachments with their charset, data for
people who are not recipients, messages without recipients, per-recipient ids, and
the anymail attributes a provider may have no place for. Through the sandbox, with
Django's real mail machinery and anymail's real classes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.mime.message import MIMEMessage
from email.mime.text import MIMEText

import pytest
from anymail.message import AnymailMessage
from anymail.utils import UNSET
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_support import mailspec_setting

from mailspec import AllProvidersFailed, UnsupportedOperation, ValidationError
from mailspec.django.message import to_message
from mailspec.sandbox import SandboxServer

# --- AnymailMessage and UNSET ----------------------------------------------------------


def test_an_anymail_message_with_nothing_set_is_sent(providers) -> None:
    sendcloud, _ = providers
    email = AnymailMessage("Your order", "It ships today.", to=["ann@example.org"])
    assert email.send_at is UNSET and email.esp_extra is UNSET  # anymail's defaults
    assert email.send() == 1
    (row,) = sendcloud.accepted
    assert row.params["subject"] == "Your order"
    assert email.anymail_status.status == {"queued"}
    assert email.anymail_status.message_id == row.message_id


def test_an_anymail_message_carries_its_attributes(providers) -> None:
    sendcloud, _ = providers
    email = AnymailMessage(
        subject="Shipped",
        body="Hello",
        to=["ann@example.org", "bob@example.org"],
        tags=["order"],
        metadata={"order": 42},
        merge_global_data={"shop": "Shop"},
        merge_data={"ann@example.org": {"name": "Ann"}},
    )
    assert mail.get_connection().send_messages([email]) == 1
    params = sendcloud.accepted[0].params
    assert params["headers"]["X-Mailspec-Tags"] == '["order"]'
    assert params["headers"]["X-Mailspec-Metadata"] == '{"order":"42"}'
    assert params["xsmtpapi"]["sub"] == {"%name%": ["Ann", ""], "%shop%": ["Shop", "Shop"]}


def test_unset_is_recognised_without_importing_anymail() -> None:
    from mailspec.django.message import is_unset

    assert is_unset(UNSET) and is_unset(None)
    fake = type("UNSET", (object,), {})  # same name, not anymail's
    assert not is_unset(fake) and not is_unset("") and not is_unset(0)


# --- lazy strings ----------------------------------------------------------------------


def test_lazy_strings_are_taken_as_their_text(providers) -> None:
    sendcloud, _ = providers
    email = AnymailMessage(
        gettext_lazy("Your order"),
        gettext_lazy("It ships today."),
        to=["ann@example.org", "bob@example.org"],
        metadata={"note": gettext_lazy("gift")},
        merge_data={"ann@example.org": {"greeting": gettext_lazy("Hello")}},
        merge_global_data={"shop": gettext_lazy("Shop")},
        tags=[gettext_lazy("order")],
    )
    email.attach("notes.txt", gettext_lazy("Thank you"), "text/plain")
    assert email.send() == 1
    params = sendcloud.accepted[0].params
    assert (params["subject"], params["plain"]) == ("Your order", "It ships today.")
    assert params["headers"]["X-Mailspec-Metadata"] == '{"note":"gift"}'
    assert params["xsmtpapi"]["sub"]["%greeting%"] == ["Hello", ""]
    (notes,) = params["attachments"]
    assert notes.content == b"Thank you"


# --- bodies, attachments ---------------------------------------------------------------


def test_an_html_body_with_a_text_alternative(providers) -> None:
    sendcloud, _ = providers
    email = EmailMultiAlternatives("Hi", "<p>Hello</p>", to=["ann@example.org"])
    email.content_subtype = "html"
    email.attach_alternative("Hello", "text/plain")
    assert email.send() == 1
    params = sendcloud.accepted[0].params
    assert (params["html"], params["plain"]) == ("<p>Hello</p>", "Hello")


def test_two_text_bodies_are_refused_not_one_dropped(providers) -> None:
    email = EmailMultiAlternatives("Hi", "Hello", to=["ann@example.org"])
    email.attach_alternative("Hello again", "text/plain")
    with pytest.raises(ValidationError) as refused:
        email.send()
    assert refused.value.field == "alternatives"


def test_a_text_attachment_is_written_in_the_messages_encoding(providers) -> None:
    sendcloud, _ = providers
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    email.encoding = "iso-8859-1"
    email.attach("de.txt", "Grüße", "text/plain")
    assert email.send() == 1
    (attachment,) = sendcloud.accepted[0].params["attachments"]
    assert attachment.content == "Grüße".encode("iso-8859-1")
    assert attachment.content_type == "text/plain; charset=iso-8859-1"


def test_a_mimetext_attachment_keeps_its_charset(providers) -> None:
    sendcloud, _ = providers
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    part = MIMEText("Grüße", "plain", "iso-8859-1")
    part.add_header("Content-Disposition", "attachment", filename="de.txt")
    email.attach(part)
    assert email.send() == 1
    (attachment,) = sendcloud.accepted[0].params["attachments"]
    assert attachment.content == "Grüße".encode("iso-8859-1")
    assert attachment.content_type == "text/plain; charset=iso-8859-1"


def test_an_attached_email_is_sent(providers) -> None:
    sendcloud, _ = providers
    original = EmailMessage("The original", "Forwarded text", to=["bob@example.org"])
    email = EmailMessage("Fwd", "See below", to=["ann@example.org"])
    email.attach("original.eml", original, "message/rfc822")
    email.attach(MIMEMessage(original.message()))
    assert email.send() == 1
    attached = sendcloud.accepted[0].params["attachments"]
    assert [a.content_type for a in attached] == ["message/rfc822"] * 2
    for attachment in attached:
        assert b"Subject: The original" in attachment.content
        assert b"Forwarded text" in attachment.content


# --- recipients ------------------------------------------------------------------------


def test_merge_data_for_someone_not_sent_to_is_ignored(providers) -> None:
    sendcloud, _ = providers
    email = AnymailMessage("Hi %name%", "Hello %name%", to=["ann@example.org"])
    email.merge_data = {
        "ann@example.org": {"name": "Ann"},
        "eve@example.net": {"name": "Eve"},  # a customer list, sent to some of them
    }
    assert email.send() == 1
    assert sendcloud.accepted[0].params["xsmtpapi"] == {
        "to": ["ann@example.org"],
        "sub": {"%name%": ["Ann"]},
    }


def test_a_message_without_recipients_is_not_sent_and_counts_zero(providers) -> None:
    sendcloud, _ = providers
    nobody = AnymailMessage("Hi", "Hello")
    someone = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    assert mail.get_connection().send_messages([nobody, someone]) == 1
    assert nobody.anymail_status.status is None and nobody.mailspec_status is None
    assert [row.recipient for row in sendcloud.accepted] == ["ann@example.org"]


def test_a_cc_only_message_goes_where_the_provider_allows_it(providers) -> None:
    email = EmailMessage("Hi", "Hello", cc=["cy@example.org"])
    # every HTTP API here requires a `to`: each provider skips it, saying why
    with pytest.raises(AllProvidersFailed) as failed:
        email.send()
    for attempt in failed.value.attempts:
        assert attempt.outcome == "skipped"
        assert isinstance(attempt.error, ValidationError) and attempt.error.field == "to"
    assert all(server.requests == 0 for server in providers)


def test_an_empty_subject_is_a_rule_of_the_provider_not_a_message_error(providers) -> None:
    email = EmailMessage("", "Hello", to=["ann@example.org"])
    with pytest.raises(AllProvidersFailed) as failed:
        email.send()
    assert [a.error.field for a in failed.value.attempts] == ["subject", "subject"]
    assert all(a.error.provider_rule for a in failed.value.attempts)


# --- anymail_status --------------------------------------------------------------------


def test_each_recipient_gets_its_own_message_id(cloudmails: SandboxServer) -> None:
    email = AnymailMessage("<p>Hi</p>", "<p>Hi</p>", to=["ann@example.org", "bob@example.org"])
    email.content_subtype = "html"
    with override_settings(MAILSPEC=mailspec_setting(cloudmails)):
        assert email.send() == 1
    ids = {row.recipient: row.message_id for row in cloudmails.accepted}
    status = email.anymail_status
    assert {a: r.message_id for a, r in status.recipients.items()} == ids
    assert status.message_id == set(ids.values())
    assert len(set(ids.values())) == 2


def test_a_failed_send_leaves_the_status_as_anymail_does(providers) -> None:
    for server in providers:
        server.faults.queue("server_error")
    email = AnymailMessage("Hi", "Hello", to=["ann@example.org"])
    assert email.send(fail_silently=True) == 0
    status = email.anymail_status
    assert (status.status, status.message_id, status.recipients) == (None, None, {})


# --- send_at, tracking, esp_extra ------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("send_at", datetime(2030, 1, 2, 9, 30, tzinfo=UTC)),
        ("track_opens", True),
        ("track_clicks", True),
    ],
)
def test_scheduling_and_tracking_are_a_provider_rule_not_a_refusal(
    providers, attribute, value
) -> None:
    email = AnymailMessage("Hi", "Hello", to=["ann@example.org"], **{attribute: value})
    with pytest.raises(AllProvidersFailed) as failed:
        email.send()
    # no provider here documents it: each is skipped, saying which field it cannot carry
    for attempt in failed.value.attempts:
        assert attempt.outcome == "skipped"
        assert isinstance(attempt.error, UnsupportedOperation)
        assert repr(attribute) in str(attempt.error)
    assert all(server.requests == 0 for server in providers)


def test_tracking_turned_off_needs_nothing_of_a_provider(providers) -> None:
    email = AnymailMessage("Hi", "Hello", to=["ann@example.org"], track_clicks=False)
    assert email.send() == 1


def test_send_at_is_read_as_anymail_reads_it() -> None:
    def at(value: object) -> datetime | None:
        return to_message(
            AnymailMessage("Hi", "Hello", to=["a@example.org"], send_at=value)
        ).send_at

    moment = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)
    assert at(moment) == moment
    assert at(moment.timestamp()) == moment
    # naive, and dates (their midnight), in Django's current time zone
    here = timezone.get_current_timezone()
    assert at(date(2030, 1, 2)) == datetime(2030, 1, 2, tzinfo=here)
    assert at(datetime(2030, 1, 2, 9, 30)) == datetime(2030, 1, 2, 9, 30, tzinfo=here)


def test_esp_extra_reaches_the_named_providers_request(providers) -> None:
    sendcloud, _ = providers
    email = AnymailMessage(
        "Hi",
        "Hello",
        to=["ann@example.org"],
        headers={"X-Order": "42"},
        esp_extra={
            "sendcloud": {"labelId": 7, "headers": {"X-Campaign": "spring"}},
            "cloudmails": {"ignored": "here"},  # another provider's
        },
    )
    assert email.send() == 1
    params = sendcloud.accepted[0].params
    assert params["label_id"] == 7
    # an object merged key by key: the message's own header stays
    assert params["headers"] == {"X-Order": "42", "X-Campaign": "spring"}


def test_a_flat_esp_extra_is_refused_naming_it(providers) -> None:
    email = AnymailMessage("Hi", "Hello", to=["ann@example.org"], esp_extra={"labelId": 7})
    with pytest.raises(ValidationError) as refused:
        email.send()
    assert refused.value.field == "esp_extra"
