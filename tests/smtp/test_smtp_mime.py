"""What the server receives, parsed back with the email package: the unified Message
must arrive whole (parts, bytes, encodings, recipients, substitution header)."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage

import pytest
from smtp_support import message, raw_header

from mailspec import Attachment

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 8
SUBJECT = "Ihre Bestellung: 订单 ✓ — Größe XL"
FROM_NAME = "Café Ünïcode 商店"


@pytest.fixture
def received(plain_server, make_provider):
    """Send one message with every field SMTP carries; return (result, raw, parsed)."""
    result = make_provider(plain_server).send(
        message(
            from_name=FROM_NAME,
            to=["ann@example.org", "bob@example.org"],
            cc=["cy@example.org"],
            bcc=["hidden@example.org"],
            reply_to=["support@example.com", "sales@example.com"],
            subject=SUBJECT,
            text="Hi %name%, your order ships.\n",
            html='<p>Hi %name%</p><img src="cid:logo-1">',
            attachments=[
                Attachment("invoice ü.pdf", PDF, "application/pdf"),
                Attachment("logo.png", PNG, "image/png", content_id="logo-1"),
            ],
            headers={"X-Campaign": "spring-2026", "List-Unsubscribe": "<mailto:u@example.com>"},
            variables={"shop": "Acme"},
            recipient_variables={"ann@example.org": {"name": "Ann"}},
        )
    )
    [delivered] = plain_server.recorder.accepted
    return result, delivered, parse(delivered.content)


def parse(content: bytes) -> EmailMessage:
    """The message as a mailbox stores it (LF line ends), read by the email package."""
    parsed = email.message_from_bytes(content.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_structure_mixed_alternative_related(received):
    _, _, parsed = received
    assert parsed.get_content_type() == "multipart/mixed"
    body, attachment = list(parsed.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    plain, related = list(body.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content() == "Hi %name%, your order ships.\n"
    assert related.get_content_type() == "multipart/related"
    html, image = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert 'src="cid:logo-1"' in html.get_content()
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<logo-1>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invoice ü.pdf"
    assert attachment.get_content() == PDF


def test_non_ascii_headers_are_encoded_and_decode_back(received):
    _, delivered, parsed = received
    assert delivered.content.isascii()  # 7-bit throughout: no 8BITMIME/SMTPUTF8 needed
    assert "=?utf-8?" in raw_header(delivered.content, "Subject")
    assert str(parsed["Subject"]) == SUBJECT
    [sender] = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (FROM_NAME, "noreply@example.com")


def test_recipients_headers_and_envelope(received):
    result, delivered, parsed = received
    assert delivered.rcpt_tos == [
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
        "hidden@example.org",
    ]
    assert "Bcc" not in parsed
    assert b"hidden@example.org" not in delivered.content
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ann@example.org", "bob@example.org"]
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["cy@example.org"]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == [
        "support@example.com",
        "sales@example.com",
    ]
    assert parsed["X-Campaign"] == "spring-2026"
    assert parsed["List-Unsubscribe"] == "<mailto:u@example.com>"
    assert parsed["Message-ID"] == f"<{result.message_ids[0]}>"
    assert parsed["Date"] is not None


def test_xsmtpapi_header_holds_the_substitution_json(received):
    _, delivered, _ = received
    assert json.loads(raw_header(delivered.content, "X-SMTPAPI")) == {
        "to": ["ann@example.org", "bob@example.org"],
        "sub": {"%name%": ["Ann", ""], "%shop%": ["Acme", "Acme"]},
    }


def test_no_xsmtpapi_without_variables(plain_server, make_provider):
    make_provider(plain_server).send(message())
    assert "X-SMTPAPI" not in parse(plain_server.recorder.accepted[0].content)


def test_a_long_xsmtpapi_header_folds_without_changing_its_json(plain_server, make_provider):
    to = [f"user{i}@example.org" for i in range(30)]
    values = {address: {"name": "Ünïcode " + "y" * 120, "code": "=?utf-8?q?x?="} for address in to}
    make_provider(plain_server).send(message(to=to, recipient_variables=values))
    content = plain_server.recorder.accepted[0].content
    head = content.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    sub = json.loads(raw_header(content, "X-SMTPAPI"))["sub"]
    assert sub["%name%"] == ["Ünïcode " + "y" * 120] * 30
    assert sub["%code%"] == ["=?utf-8?q?x?="] * 30  # not decoded as an encoded word


def test_html_only_and_text_only_bodies(plain_server, make_provider):
    provider = make_provider(plain_server)
    provider.send(message(text=None, html="<p>only html</p>"))
    provider.send(message(text="only text", html=None))
    html_only, text_only = (parse(r.content) for r in plain_server.recorder.accepted)
    assert html_only.get_content_type() == "text/html"
    assert html_only.get_content() == "<p>only html</p>\n"
    assert text_only.get_content_type() == "text/plain"
    assert text_only.get_content() == "only text\n"
