"""A message with an attribute of the wrong kind (``email.reply_to = 5``) is bad input:
a ValidationError, never a TypeError, and ``fail_silently`` covers it as it covers
every mailspec error."""

from __future__ import annotations

import logging

import pytest
from django.core.mail import EmailMessage

from mailspec import ValidationError

WRONG_KINDS = [
    ("reply_to", 5),
    ("alternatives", [("<p>Hi</p>",)]),
    ("extra_headers", 5),
    ("attachments", [("notes.txt",)]),
    ("body", b"\xff\xfe not UTF-8"),
    ("tags", b"abc"),  # bytes iterate as numbers: never the tags "97", "98", "99"
    ("tags", ["receipts", 5]),
]


def wrong(attribute: str, value: object) -> EmailMessage:
    email = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    setattr(email, attribute, value)
    return email


@pytest.mark.parametrize(("attribute", "value"), WRONG_KINDS)
def test_an_attribute_of_the_wrong_kind_is_a_validation_error(
    providers, attribute: str, value: object
) -> None:
    email = wrong(attribute, value)
    with pytest.raises(ValidationError):
        email.send()
    assert email.mailspec_status is None
    assert email.anymail_status.status is None  # as anymail leaves a message it did not send
    assert providers[0].requests == 0


@pytest.mark.parametrize(("attribute", "value"), WRONG_KINDS)
def test_fail_silently_covers_an_attribute_of_the_wrong_kind(
    providers, caplog: pytest.LogCaptureFixture, attribute: str, value: object
) -> None:
    good = EmailMessage("Hi", "Hello", to=["ann@example.org"])
    with caplog.at_level(logging.WARNING, logger="mailspec.django"):
        sent = wrong(attribute, value).send(fail_silently=True) + good.send(fail_silently=True)
    assert sent == 1
    assert len(providers[0].accepted) == 1
    (record,) = [r for r in caplog.records if r.name == "mailspec.django"]
    assert record.getMessage().startswith("a message was not sent: ")
