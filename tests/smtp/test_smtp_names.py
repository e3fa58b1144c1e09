"""Display names over SMTP, as a real server (aiosmtpd on 127.0.0.1) receives them: the
To, Cc and Reply-To headers carry each recipient's name (quoted when it holds
specials, RFC 2047 when it is not ASCII), the envelope the bare addresses, and an
internationalized domain goes out as IDNA without SMTPUTF8."""

from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage

from smtp_support import message, raw_header


def send(plain_server, make_provider, **fields):
    make_provider(plain_server).send(message(**fields))
    (received,) = plain_server.recorder.accepted
    parsed = email.message_from_bytes(received.content, policy=policy.strict)
    assert isinstance(parsed, EmailMessage)
    return received, parsed


def test_names_reach_the_headers_and_addresses_the_envelope(plain_server, make_provider):
    received, parsed = send(
        plain_server,
        make_provider,
        to=["Ann Smith <ann@example.org>", "bob@example.org"],
        cc=['"Smith, Cy" <cy@example.org>'],
        bcc=["Hidden Name <hidden@example.org>"],
        reply_to="Help Desk <help@example.com>",
    )
    assert received.rcpt_tos == [
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
        "hidden@example.org",
    ]
    assert raw_header(received.content, "To") == "Ann Smith <ann@example.org>, bob@example.org"
    assert raw_header(received.content, "Cc") == '"Smith, Cy" <cy@example.org>'
    assert raw_header(received.content, "Reply-To") == "Help Desk <help@example.com>"
    to = parsed["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [
        ("Ann Smith", "ann@example.org"),
        ("", "bob@example.org"),
    ]
    assert parsed["Cc"].addresses[0].display_name == "Smith, Cy"
    assert "Bcc" not in parsed and b"Hidden Name" not in received.content


def test_a_non_ascii_name_is_an_encoded_word_that_decodes_back(plain_server, make_provider):
    received, parsed = send(plain_server, make_provider, to=["Zoë Ünïcödé 张伟 <zoe@example.org>"])
    raw = raw_header(received.content, "To")
    assert raw.isascii() and raw.startswith("=?utf-8?") and raw.endswith(" <zoe@example.org>")
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë Ünïcödé 张伟", "zoe@example.org")


def test_an_idn_domain_goes_out_as_idna(plain_server, make_provider):
    """As Django sends it: ``from@öäü.com`` is ``from@xn--4ca9at.com`` on the wire."""
    received, _ = send(
        plain_server,
        make_provider,
        from_email="from@öäü.com",
        to=["Jörg <jorg@münchen.de>"],
    )
    assert received.mail_from == "from@xn--4ca9at.com"
    assert received.rcpt_tos == ["jorg@xn--mnchen-3ya.de"]
    assert raw_header(received.content, "From") == "from@xn--4ca9at.com"
    to = raw_header(received.content, "To")
    assert to.isascii() and to.endswith(" <jorg@xn--mnchen-3ya.de>")
    assert str(make_header(decode_header(to))) == "Jörg <jorg@xn--mnchen-3ya.de>"


def test_a_recipient_name_that_looks_like_an_encoded_word_shows_as_written(
    plain_server, make_provider
):
    """As the sender's name does: written as encoded words itself, so a reader that
    decodes encoded words even inside quotes still shows it as given."""
    name = "=?utf-8?q?PayPal?="
    received, parsed = send(plain_server, make_provider, to=[f'"{name}" <ann@example.org>'])
    raw = raw_header(received.content, "To")
    assert name not in raw
    assert str(make_header(decode_header(raw))) == f"{name} <ann@example.org>"
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, "ann@example.org")
