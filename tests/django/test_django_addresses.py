"""Addresses as Django users write them, through EMAIL_BACKEND =
"mailspec.django.EmailBackend" to sandbox servers: display names are kept (as anymail
keeps them) and reach a provider with a place for them, and an entry holding several
addresses is refused, as Django's own SMTP backend refuses it, never split into
several recipients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address
from django.test import override_settings
from django_support import mailspec_setting

from mailspec import ValidationError
from mailspec.django.message import to_message
from mailspec.sandbox import SandboxServer

# entries Django's SMTP backend refuses (sanitize_address raises): each holds more
# than one address; Python 3.11.7's getaddresses reads the first as two (CVE-2023-27043)
SEVERAL = [
    "alice@example.org:<bob@example.com>",
    "ann@example.org, evil@example.com",
    "Ann <ann@example.org>, Evil <evil@example.com>",
]


@pytest.fixture
def to_cloudmails(cloudmails: SandboxServer) -> Iterator[SandboxServer]:
    with override_settings(MAILSPEC=mailspec_setting(cloudmails)):
        yield cloudmails


def test_names_are_kept_and_reach_cloudmails(to_cloudmails: SandboxServer) -> None:
    email = EmailMessage(
        "Your order",
        "It ships today.",
        '"Shop, Orders" <orders@shop.example>',
        to=["Ann Smith <ann@example.org>"],
        cc=['"Smith, Bob" <bob@example.org>'],
        headers={"Reply-To": "Help <help@shop.example>"},
    )
    email.content_subtype = "html"  # CloudMails requires html
    assert email.send() == 1
    (row,) = to_cloudmails.accepted
    assert row.recipient == "ann@example.org"
    assert row.params["to"] == "Ann Smith <ann@example.org>"
    assert row.params["cc"] == ['"Smith, Bob" <bob@example.org>']
    assert row.params["reply_to"] == "Help <help@shop.example>"
    assert row.params["from_email"] == '"Shop, Orders" <orders@shop.example>'
    assert set(email.anymail_status.recipients) == {"ann@example.org", "bob@example.org"}


def test_an_idn_address_goes_out_as_django_sends_it(to_cloudmails: SandboxServer) -> None:
    sent = mail.send_mail(
        "Hi", "Hello", "from@öäü.com", ["Jörg <jorg@münchen.de>"], html_message="<p>Hello</p>"
    )
    assert sent == 1
    (row,) = to_cloudmails.accepted
    assert row.params["from_email"] == sanitize_address("from@öäü.com", "utf-8")
    assert row.recipient == "jorg@xn--mnchen-3ya.de"


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to"])
@pytest.mark.parametrize("entry", SEVERAL)
def test_an_entry_with_several_addresses_is_refused_as_django_refuses_it(
    to_cloudmails: SandboxServer, field: str, entry: str
) -> None:
    with pytest.raises(ValueError, match="Invalid address"):
        sanitize_address(entry, "utf-8")  # Django's own SMTP backend
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    setattr(email, field, [*getattr(email, field), entry])
    with pytest.raises(ValidationError) as refused:
        email.send()
    assert refused.value.field == field
    assert to_cloudmails.requests == 0  # nobody was sent anything


def test_a_reply_to_header_may_list_several_mailboxes() -> None:
    """A header value is an address list (RFC 5322 3.6.2), unlike a list entry."""
    email = EmailMessage(
        "Hi",
        "Hello",
        to=["ann@example.org"],
        headers={"Reply-To": '"Help, Desk" <help@shop.example>, sales@shop.example'},
    )
    message = to_message(email)
    assert message.reply_to == ["help@shop.example", "sales@shop.example"]
    assert message.display_names == {"help@shop.example": "Help, Desk"}
