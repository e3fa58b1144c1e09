"""Invalid messages are refused before any I/O: the server must see no request at all."""

from __future__ import annotations

from typing import Any

import pytest
from aurora_support import SEND_PATH, message, ok_send

from mailspec import Attachment, UnsupportedOperation, ValidationError

INJECTION = "ann@example.org\r\nBcc: victim@example.net"

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    # addresses
    "to not an address": ({"to": ["not-an-address"]}, "to"),
    "to empty list": ({"to": []}, "to"),
    "to missing domain dot": ({"to": ["ann@localhost"]}, "to"),
    "cc bad": ({"cc": ["cc@"]}, "cc"),
    "bcc bad": ({"bcc": ["@example.org"]}, "bcc"),
    "reply_to bad string": ({"reply_to": "help"}, "reply_to"),
    "reply_to bad in list": ({"reply_to": ["help@example.com", "nope"]}, "reply_to"),
    "reply_to not str or list": ({"reply_to": 123}, "reply_to"),
    "reply_to a tuple": ({"reply_to": ("help@example.com",)}, "reply_to"),
    "reply_to a dict": ({"reply_to": {"help@example.com": 1}}, "reply_to"),
    "from bad": ({"from_email": "noreply"}, "from_email"),
    "from empty": ({"from_email": ""}, "from_email"),
    "to with semicolon": ({"to": ["ann@example.org;eve@example.net"]}, "to"),
    "to with comma": ({"to": ["ann@example.org,eve@example.net"]}, "to"),
    "cc with semicolon": ({"cc": ["a@example.org;b@example.org"]}, "cc"),
    "bcc with comma": ({"bcc": ["a@example.org,b@example.org"]}, "bcc"),
    "reply_to with semicolon": ({"reply_to": "a@example.org;b@example.org"}, "reply_to"),
    "to with crlf": ({"to": [INJECTION]}, "to"),
    "cc with lf": ({"cc": ["ann@example.org\nBcc: x@example.net"]}, "cc"),
    "from with crlf": ({"from_email": "noreply@example.com\r\nBcc: x@example.net"}, "from_email"),
    "reply_to with crlf": ({"reply_to": INJECTION}, "reply_to"),
    "to with display name": ({"to": ["Ann <ann@example.org>"]}, "to"),
    "to too long": ({"to": ["a" * 250 + "@example.org"]}, "to"),
    # header injection
    "subject crlf": ({"subject": "Hello\r\nBcc: victim@example.net"}, "subject"),
    "subject lf": ({"subject": "Hello\nX: y"}, "subject"),
    "subject nul": ({"subject": "Hello\x00"}, "subject"),
    "from_name crlf": ({"from_name": "Shop\r\nBcc: victim@example.net"}, "from_name"),
    "header value crlf": ({"headers": {"X-Tag": "a\r\nBcc: victim@example.net"}}, "headers"),
    "header name space": ({"headers": {"X Tag": "a"}}, "headers"),
    "header name colon": ({"headers": {"X-Tag:": "a"}}, "headers"),
    "header name crlf": ({"headers": {"X-Tag\r\nBcc": "a"}}, "headers"),
    "header name empty": ({"headers": {"": "a"}}, "headers"),
    "header name non-ascii": ({"headers": {"X-Tåg": "a"}}, "headers"),
    "attachment filename crlf": (
        {"attachments": [Attachment("a.txt\r\nX: y", b"x", "text/plain")]},
        "attachments",
    ),
    "attachment type crlf": (
        {"attachments": [Attachment("a.txt", b"x", "text/plain\r\nX: y")]},
        "attachments",
    ),
    # content
    "no html nor text": ({"html": None, "text": None}, "html"),
    "empty html and text": ({"html": "", "text": ""}, "html"),
    "missing subject": ({"subject": None}, "subject"),
    "empty subject": ({"subject": ""}, "subject"),
    "subject too long": ({"subject": "x" * 256}, "subject"),
    "from_name too long": ({"from_name": "x" * 256}, "from_name"),
    "attachments too big": (
        {
            "attachments": [
                Attachment("a.bin", b"a" * 6_000_000),
                Attachment("b.bin", b"b" * 4_485_761),
            ]
        },
        "attachments",
    ),
    "recipient variables for a stranger": (
        {"recipient_variables": {"eve@example.net": {"name": "Eve"}}},
        "recipient_variables",
    ),
    # wrong types
    "to as a string": ({"to": "ann@example.org"}, "to"),
    "cc as a string": ({"cc": "cc@example.org"}, "cc"),
    "to of numbers": ({"to": [1, 2]}, "to"),
    "subject int": ({"subject": 123}, "subject"),
    "from_name int": ({"from_name": 5}, "from_name"),
    "html bytes": ({"html": b"<p>hi</p>"}, "html"),
    "text int": ({"text": 1}, "text"),
    "headers list": ({"headers": ["X-Tag: a"]}, "headers"),
    "header value int": ({"headers": {"X-Count": 3}}, "headers"),
    "attachments of bytes": ({"attachments": [b"raw"]}, "attachments"),
    "attachments an empty tuple": ({"attachments": ()}, "attachments"),
    "attachments one, not a list": ({"attachments": Attachment("a.txt", b"x")}, "attachments"),
    "tags a string": ({"tags": "welcome"}, "tags"),
    "tags an empty tuple": ({"tags": ()}, "tags"),
    "tags of numbers": ({"tags": [1]}, "tags"),
    "attachment content str": ({"attachments": [Attachment("a.txt", "text")]}, "attachments"),  # type: ignore[arg-type]
    "variables not strings": ({"variables": {"n": 1}}, "variables"),
    "recipient variables not strings": (
        {"recipient_variables": {"ann@example.org": {"n": 1}}},
        "recipient_variables",
    ),
}


@pytest.mark.parametrize(("overrides", "field"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_message_is_refused_before_io(httpserver, aurora, overrides, field):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("should-not-happen"))
    with pytest.raises(ValidationError) as info:
        aurora.send(message(**overrides))
    assert len(httpserver.log) == 0
    error = info.value
    assert error.field is not None and error.field.startswith(field), error.field
    assert error.provider == "aurorasendcloud"
    assert "aurorasendcloud" in str(error)


def test_too_many_recipients_names_code_40807(httpserver, aurora):
    to = [f"user{i}@example.org" for i in range(101)]
    with pytest.raises(ValidationError) as info:
        aurora.send(message(to=to))
    assert len(httpserver.log) == 0
    assert info.value.code == 40807
    assert "provider code 40807" in str(info.value)
    assert info.value.field == "to"


@pytest.mark.parametrize("field", ["cc", "bcc"])
def test_too_many_cc_or_bcc(httpserver, aurora, field):
    addresses = [f"user{i}@example.org" for i in range(101)]
    with pytest.raises(ValidationError) as info:
        aurora.send(message(**{field: addresses}))
    assert len(httpserver.log) == 0
    assert info.value.field == field


def test_too_many_reply_to_names_code_40879(httpserver, aurora):
    reply_to = [f"r{i}@example.org" for i in range(4)]
    with pytest.raises(ValidationError) as info:
        aurora.send(message(reply_to=reply_to))
    assert len(httpserver.log) == 0
    assert info.value.code == 40879
    assert "provider code 40879" in str(info.value)


def test_template_message_is_unsupported(httpserver, aurora):
    with pytest.raises(UnsupportedOperation) as info:
        aurora.send(message(template="welcome", subject=None, html=None, variables={"n": "1"}))
    assert len(httpserver.log) == 0
    assert info.value.provider == "aurorasendcloud"
    assert "aurorasendcloud" in str(info.value)
    assert "template" in info.value.operation


@pytest.mark.parametrize(("field", "value"), [("tags", ["welcome"]), ("metadata", {"order": "42"})])
def test_unsupported_fields_are_refused_by_name(httpserver, aurora, field, value):
    with pytest.raises(UnsupportedOperation) as info:
        aurora.send(message(**{field: value}))
    assert len(httpserver.log) == 0
    assert info.value.provider == "aurorasendcloud"
    assert field in str(info.value)


def test_not_a_message_is_refused(httpserver, aurora):
    with pytest.raises(ValidationError):
        aurora.send({"from_email": "a@example.com", "to": ["b@example.org"]})  # type: ignore[arg-type]
    assert len(httpserver.log) == 0


def test_send_many_validates_every_message_first(httpserver, aurora):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("e1"))
    with pytest.raises(ValidationError):
        aurora.send_many([message(), message(to=["bad"])])
    assert len(httpserver.log) == 0


def test_a_valid_message_after_invalid_ones_still_goes(httpserver, aurora):
    """The rejections above come from the checks, not from a provider that never sends."""
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("e1"))
    with pytest.raises(ValidationError):
        aurora.send(message(subject="a\r\nb"))
    assert aurora.send(message()).message_ids == ["e1"]
    assert len(httpserver.log) == 1
