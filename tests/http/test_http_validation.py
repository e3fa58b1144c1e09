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
    "to with two addresses in one entry": ({"to": ["ann@example.org, bob@example.org"]}, "to"),
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
    "recipient variables for a stranger": (
        {"recipient_variables": {"eve@example.net": {"name": "Eve"}}},
        "recipient_variables",
    ),
    # control characters and text UTF-8 cannot encode (one check for every transport)
    "to with nul": ({"to": ["ann\x00x@example.org"]}, "to"),
    "to with escape": ({"to": ["ann\x1b@example.org"]}, "to"),
    "cc with del": ({"cc": ["ann\x7f@example.org"]}, "cc"),
    "from with backspace": ({"from_email": "no\x08reply@example.com"}, "from_email"),
    "to domain with slash": ({"to": ["ann@example.org/x"]}, "to"),
    "to domain with question mark": ({"to": ["ann@example.org?x=1"]}, "to"),
    "to domain with hash": ({"to": ["ann@exa#mple.org"]}, "to"),
    "reply_to domain with c1": ({"reply_to": "ann@exa\x85mple.org"}, "reply_to"),
    "subject escape": ({"subject": "Hello\x1b[31m"}, "subject"),
    "subject backspace": ({"subject": "Hello\x08"}, "subject"),
    "from_name del": ({"from_name": "Shop\x7f"}, "from_name"),
    "from_name c1": ({"from_name": "Shop\x9b"}, "from_name"),
    "header value escape": ({"headers": {"X-Tag": "a\x1bb"}}, "headers"),
    "header value tab": ({"headers": {"X-Tag": "a\tb"}}, "headers"),
    "tag nul": ({"tags": ["a\x00"]}, "tags"),
    "metadata value lf": ({"metadata": {"k": "a\nb"}}, "metadata"),
    "metadata key escape": ({"metadata": {"k\x1b": "v"}}, "metadata"),
    "variable name nul": ({"variables": {"n\x00": "v"}}, "variables"),
    "variable value nul": ({"variables": {"n": "v\x00"}}, "variables"),
    "html nul": ({"html": "<p>\x00</p>"}, "html"),
    "text escape": ({"text": "hi \x1b[0m"}, "text"),
    "attachment content_id lf": (
        {"attachments": [Attachment("a.png", b"x", "image/png", "logo\nX: y")]},
        "attachments",
    ),
    "html lone surrogate": ({"html": "<p>\ud800</p>"}, "html"),
    "text lone surrogate": ({"text": "\udfff"}, "text"),
    "subject lone surrogate": ({"subject": "Hi \ud83d"}, "subject"),
    "from_name lone surrogate": ({"from_name": "\ud800"}, "from_name"),
    "variable lone surrogate": ({"variables": {"n": "\ud800"}}, "variables"),
    "metadata lone surrogate": ({"metadata": {"k": "\ud800"}}, "metadata"),
    "header lone surrogate": ({"headers": {"X-Tag": "\ud800"}}, "headers"),
    "recipient variable lone surrogate": (
        {"recipient_variables": {"ann@example.org": {"n": "\ud800"}}},
        "recipient_variables",
    ),
    "tag lone surrogate": ({"tags": ["\ud800"]}, "tags"),
    "attachment filename lone surrogate": (
        {"attachments": [Attachment("\ud800.txt", b"x", "text/plain")]},
        "attachments",
    ),
    # headers the message's own fields write: refused over HTTP as over SMTP
    **{
        f"reserved header {name}": ({"headers": {name: "x@example.org"}}, "headers")
        for name in (
            "From",
            "to",
            "CC",
            "Bcc",
            "Reply-To",
            "Subject",
            "Content-Type",
            "Content-Transfer-Encoding",
            "MIME-Version",
            "X-SMTPAPI",
        )
    },
}


# Refusals of AuroraSendCloud's own spec (its limits): another provider may take the
# message, so the error names the provider, as one of its rules.
PROVIDER_RULES: dict[str, tuple[dict[str, Any], str]] = {
    # what Django sends and SMTP carries, but this API requires
    "no html nor text": ({"html": None, "text": None}, "html+plain"),
    "empty html and text": ({"html": "", "text": ""}, "html+plain"),
    "empty subject": ({"subject": ""}, "subject"),
    "missing subject": ({"subject": None}, "subject"),
    "cc only": ({"to": [], "cc": ["cy@example.org"]}, "to"),
    "bcc only": ({"to": [], "bcc": ["cy@example.org"]}, "to"),
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
}


@pytest.mark.parametrize(("overrides", "field"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_message_is_refused_before_io(httpserver, aurora, overrides, field):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("should-not-happen"))
    with pytest.raises(ValidationError) as info:
        aurora.send(message(**overrides))
    assert len(httpserver.log) == 0
    error = info.value
    assert error.field is not None and error.field.startswith(field), error.field
    # every provider would refuse it: a message error, not a rule of this provider
    assert error.provider is None and error.provider_rule is False


@pytest.mark.parametrize(
    ("overrides", "field"), list(PROVIDER_RULES.values()), ids=list(PROVIDER_RULES)
)
def test_a_provider_rule_is_refused_before_io_naming_the_provider(
    httpserver, aurora, overrides, field
):
    with pytest.raises(ValidationError) as info:
        aurora.send(message(**overrides))
    assert len(httpserver.log) == 0
    error = info.value
    assert error.field == field
    assert error.provider == "aurorasendcloud" and error.provider_rule is True
    assert str(error).startswith("aurorasendcloud: ")


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


@pytest.mark.parametrize("header", ["X-Mailspec-Tags", "x-mailspec-metadata"])
def test_a_header_where_tags_or_metadata_travel_is_refused(httpserver, aurora, header):
    """The message's own header of that name would be overwritten or duplicated."""
    with pytest.raises(ValidationError) as info:
        aurora.send(message(tags=["welcome"], metadata={"order": "42"}, headers={header: "x"}))
    assert len(httpserver.log) == 0
    assert info.value.provider == "aurorasendcloud"
    assert info.value.field is not None and info.value.field.startswith("headers[")


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


# Wrong types are refused when the Message (or the Attachment) is built, before any
# provider sees it: a ValidationError naming the field, never a TypeError later.
WRONG_TYPES: dict[str, tuple[dict[str, Any] | None, str]] = {
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
    "attachment content str": (None, "attachments.content"),
    "variables not strings": ({"variables": {"n": 1}}, "variables"),
    "recipient variables not strings": (
        {"recipient_variables": {"ann@example.org": {"n": 1}}},
        "recipient_variables",
    ),
    "reply_to not str or list": ({"reply_to": 123}, "reply_to"),
    "reply_to a tuple": ({"reply_to": ("help@example.com",)}, "reply_to"),
    "reply_to a dict": ({"reply_to": {"help@example.com": 1}}, "reply_to"),
    "cc None": ({"cc": None}, "cc"),
    "bcc None": ({"bcc": None}, "bcc"),
    "reply_to zero": ({"reply_to": 0}, "reply_to"),
    "recipient_variables a list": ({"recipient_variables": []}, "recipient_variables"),
    "metadata None": ({"metadata": None}, "metadata"),
    "from_email None": ({"from_email": None}, "from_email"),
}


@pytest.mark.parametrize(("overrides", "field"), list(WRONG_TYPES.values()), ids=list(WRONG_TYPES))
def test_a_wrong_type_is_refused_when_the_message_is_built(overrides, field):
    with pytest.raises(ValidationError) as info:
        if overrides is None:
            Attachment("a.txt", "text")  # type: ignore[arg-type]
        else:
            message(**overrides)
    assert info.value.field is not None and info.value.field.startswith(field), info.value.field
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("a.txt", None), "attachments.content"),
        (("a.txt", bytearray(b"x")), "attachments.content"),
        ((None, b"x"), "attachments.filename"),
        (("a.txt", b"x", 5), "attachments.content_type"),
        (("a.txt", b"x", "text/plain", 7), "attachments.content_id"),
    ],
)
def test_a_wrong_attachment_type_is_refused_when_built(args, field):
    with pytest.raises(ValidationError) as info:
        Attachment(*args)
    assert info.value.field == field


def test_html_and_text_keep_tabs_and_line_breaks(httpserver, aurora):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("id-1"))
    aurora.send(message(html="<p>a</p>\r\n\t<p>b</p>", text="a\r\n\tb",
                        variables={"address": "1 Road\nTown"}))  # fmt: skip
    assert len(httpserver.log) == 1


def test_internationalized_domains_and_rfc_local_parts_stay_valid(httpserver, aurora):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("id-1"))
    aurora.send(message(to=["ann@bücher.example", "用户@例子.中国", "a/b?c#d@example.org"]))
    assert len(httpserver.log) == 1
