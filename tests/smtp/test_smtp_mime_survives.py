"""What a real SMTP server receives arrives as it was given: charsets of text
attachments, long ASCII header values, long non-ASCII names, names that look like
encoded words, bodies byte for byte, attached messages, and the messages Django itself
sends (no subject, no body, cc or bcc only). Read back with ``email.policy.strict``
(any defect raises) and, where the wire form is the point, byte by byte."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from smtp_support import message, raw_header

from mailspec import Attachment, UnsupportedOperation

UNSUBSCRIBE = (
    "<https://shop.example.com/unsubscribe?list=orders&token="
    + "A1b2C3d4E5f6" * 8
    + ">, <mailto:unsubscribe@shop.example.com>"
)
# RFC 2047: =?charset?encoding?text?=
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def strict(content: bytes) -> EmailMessage:
    """The message as received, read with every defect an error."""
    parsed = email.message_from_bytes(content, policy=policy.strict)
    assert isinstance(parsed, EmailMessage)
    return parsed


def sent(server, make_provider, **fields) -> bytes:
    make_provider(server).send(message(**fields))
    return server.recorder.accepted[-1].content


def part_bytes(parsed: EmailMessage, content_type: str) -> bytes:
    """The decoded bytes of the first part of ``content_type``."""
    part = next(p for p in parsed.walk() if p.get_content_type() == content_type)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


# --- charsets of text attachments ----------------------------------------------------


def test_a_utf8_text_attachment_without_a_charset_declares_utf8(plain_server, make_provider):
    data = "Grüße, 你好 ✓\n".encode()
    content = sent(
        plain_server,
        make_provider,
        attachments=[Attachment("notes.txt", data, "text/plain")],
    )
    assert b'Content-Type: text/plain; charset="utf-8"\r\n' in content
    [attached] = strict(content).iter_attachments()
    assert attached.get_content_charset() == "utf-8"
    assert attached.get_content() == "Grüße, 你好 ✓\n"


def test_a_given_charset_is_kept_with_its_bytes(plain_server, make_provider):
    data = "Grüße".encode("iso-8859-1")
    content = sent(
        plain_server,
        make_provider,
        attachments=[Attachment("de.txt", data, "text/plain; charset=iso-8859-1")],
    )
    assert b'Content-Type: text/plain; charset="iso-8859-1"\r\n' in content
    [attached] = strict(content).iter_attachments()
    assert attached.get_payload(decode=True) == data
    assert attached.get_content() == "Grüße"


def test_text_that_is_not_utf8_gets_no_guessed_charset(plain_server, make_provider):
    data = "Grüße".encode("cp1252")  # no charset given, and not UTF-8: sent as given
    content = sent(
        plain_server, make_provider, attachments=[Attachment("old.txt", data, "text/plain")]
    )
    [attached] = strict(content).iter_attachments()
    assert attached.get_content_type() == "text/plain"
    assert attached.get_param("charset") is None
    assert attached.get_payload(decode=True) == data


def test_the_declared_type_is_what_every_transport_sends():
    assert Attachment("a.txt", b"plain", "text/plain").declared_type == "text/plain; charset=utf-8"
    assert Attachment("a.csv", b"\xff", "text/csv").declared_type == "text/csv"
    given = "text/plain; charset=iso-8859-1"
    assert Attachment("a.txt", b"\xe9", given).declared_type == given
    assert Attachment("a.bin", b"x", "application/octet-stream").declared_type == (
        "application/octet-stream"
    )


# --- headers -------------------------------------------------------------------------


def test_a_long_list_unsubscribe_stays_a_plain_url(plain_server, make_provider):
    content = sent(plain_server, make_provider, headers={"List-Unsubscribe": UNSUBSCRIBE})
    assert raw_header(content, "List-Unsubscribe") == UNSUBSCRIBE  # folded at spaces only
    head = content.split(b"\r\n\r\n", 1)[0]
    assert not ENCODED_WORD.search(head.split(b"List-Unsubscribe:", 1)[1].split(b"\r\nX", 1)[0])
    # the URL, longer than a line, is on the name's line whole
    assert b"List-Unsubscribe: " + UNSUBSCRIBE.split(", ")[0].encode() + b",\r\n" in head
    assert strict(content)["List-Unsubscribe"] == UNSUBSCRIBE


def test_a_long_ascii_subject_is_not_encoded(plain_server, make_provider):
    subject = "Order " + "9" * 90 + " shipped"
    content = sent(plain_server, make_provider, subject=subject)
    assert raw_header(content, "Subject") == subject
    assert not ENCODED_WORD.search(content.split(b"\r\n\r\n", 1)[0])
    assert strict(content)["Subject"] == subject


def test_a_long_non_ascii_name_is_several_short_encoded_words(plain_server, make_provider):
    name = "Kundenservice der Größten Bäckerei Österreichs — 顧客サービス部門 " * 2
    content = sent(plain_server, make_provider, from_name=name.strip())
    words = ENCODED_WORD.findall(content.split(b"\r\n\r\n", 1)[0])
    assert len(words) > 2
    assert max(map(len, words)) <= 75  # RFC 2047 2
    # decoded as RFC 2047 6.2 says (the spaces between encoded words are not text)
    header = raw_header(content, "From")
    assert str(make_header(decode_header(header))) == f"{name.strip()} <noreply@example.com>"
    [sender] = strict(content)["From"].addresses
    assert sender.addr_spec == "noreply@example.com"


def test_a_long_non_ascii_subject_is_short_encoded_words(plain_server, make_provider):
    subject = "Ihre Bestellung: 订单 ✓ — Größe XL, " * 4
    content = sent(plain_server, make_provider, subject=subject)
    words = ENCODED_WORD.findall(content.split(b"\r\n\r\n", 1)[0])
    assert words and max(map(len, words)) <= 75
    assert strict(content)["Subject"] == subject


@pytest.mark.parametrize(
    "name", ["=?utf-8?q?PayPal?=", "=?UTF-8?B?UGF5UGFs?=", "Support =?utf-8?q?Team?="]
)
def test_a_name_that_looks_like_an_encoded_word_shows_as_written(plain_server, make_provider, name):
    content = sent(plain_server, make_provider, from_name=name)
    # encoded itself: a reader that decodes encoded words even in quotes shows it as written
    header = raw_header(content, "From")
    assert name not in header
    assert str(make_header(decode_header(header))) == f"{name} <noreply@example.com>"
    [sender] = strict(content)["From"].addresses
    assert sender.display_name == name


# --- bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hello",  # no line break at the end: none is added
        "Line one\r\nLine two\r\n",
        "Grüße, 你好 ✓ trailing space ",
        "x" * 1200 + " long line, no break",
    ],
)
def test_the_text_part_arrives_byte_for_byte(plain_server, make_provider, text):
    content = sent(plain_server, make_provider, text=text, html="<p>Hello</p>")
    parsed = strict(content)
    assert part_bytes(parsed, "text/plain") == text.encode()
    assert part_bytes(parsed, "text/html") == b"<p>Hello</p>"


def test_bare_line_feeds_become_crlf_and_nothing_else_changes(plain_server, make_provider):
    content = sent(plain_server, make_provider, text="a\nb\n\nc", html="<p>x</p>\n")
    parsed = strict(content)
    assert part_bytes(parsed, "text/plain") == b"a\r\nb\r\n\r\nc"
    assert part_bytes(parsed, "text/html") == b"<p>x</p>\r\n"


# --- attached messages ---------------------------------------------------------------


FORWARDED = (
    b"From: Ann <ann@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: The original\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe from the original.\r\n"
)


def test_a_message_rfc822_attachment_is_attached_as_a_message(plain_server, make_provider):
    content = sent(
        plain_server,
        make_provider,
        attachments=[Attachment("original.eml", FORWARDED, "message/rfc822")],
    )
    assert content.isascii()  # its 8-bit body re-encoded: still no 8BITMIME needed
    [attached] = strict(content).iter_attachments()
    assert attached.get_content_type() == "message/rfc822"
    assert attached["Content-Transfer-Encoding"] in (None, "7bit")  # never base64
    inner = attached.get_content()
    assert inner["Subject"] == "The original"
    assert inner.get_payload(decode=True) == "Grüße from the original.\r\n".encode()


# --- what Django sends ---------------------------------------------------------------


def test_no_subject_and_no_body(plain_server, make_provider):
    content = sent(plain_server, make_provider, subject=None, text=None)
    parsed = strict(content)
    assert parsed["Subject"] == ""
    assert parsed.get_content_type() == "text/plain"


@pytest.mark.parametrize("field", ["cc", "bcc"])
def test_cc_or_bcc_only(plain_server, make_provider, field):
    content = sent(plain_server, make_provider, to=[], **{field: ["cy@example.org"]})
    assert plain_server.recorder.accepted[-1].rcpt_tos == ["cy@example.org"]
    parsed = strict(content)
    assert "To" not in parsed
    assert (parsed["Cc"] is not None) == (field == "cc")
    assert b"cy@example.org" not in content or field == "cc"


# --- what SMTP has no place for ------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"send_at": datetime(2030, 1, 2, tzinfo=UTC)},
        {"track_opens": True},
        {"track_clicks": True},
        {"provider_options": {"aurorasendcloud": {"labelId": 7}}},
    ],
)
def test_scheduling_tracking_and_own_options_are_refused_before_io(
    plain_server, make_provider, fields
):
    with pytest.raises(UnsupportedOperation) as refused:
        make_provider(plain_server).send(message(**fields))
    assert repr(next(iter(fields))) in str(refused.value)
    assert plain_server.recorder.accepted == []


def test_another_providers_options_are_not_for_smtp(plain_server, make_provider):
    sent(plain_server, make_provider, provider_options={"cloudmails": {"track": True}})
    assert len(plain_server.recorder.accepted) == 1
