"""Recipients' display names on the wire, over HTTP to the sandbox: CloudMails carries
them in its mailbox strings, the SendCloud-style providers and AOTsend have no place
for them and get the address alone; internationalized domains go out as IDNA."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest

from mailspec import Message
from mailspec.sandbox import Sandbox

NAMED = {
    "to": ["Ann Smith <ann@example.org>"],
    "cc": ['"Smith, Bob" <bob@example.org>'],
    "bcc": ["Zoë <zoe@example.org>"],
    "reply_to": "Help Desk <help@example.com>",
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["cloudmails", "sendcloud", "aurorasendcloud", "aotsend"]) as running:
        yield running


def message(**fields: object) -> Message:
    base: dict[str, object] = {
        "from_email": "Shop <orders@shop.example>",
        "subject": "Your order",
        "html": "<p>Hi</p>",
        **NAMED,
    }
    base.update(fields)
    return Message(**base)  # type: ignore[arg-type]


def test_cloudmails_gets_every_name_in_its_mailbox_strings(sandbox: Sandbox) -> None:
    sandbox["cloudmails"].provider().send(message())
    (row,) = sandbox["cloudmails"].accepted
    assert row.recipient == "ann@example.org"  # the address, for statuses
    assert row.params["to"] == "Ann Smith <ann@example.org>"
    assert row.params["cc"] == ['"Smith, Bob" <bob@example.org>']
    (bcc,) = row.params["bcc"]
    assert bcc.isascii() and bcc.endswith(" <zoe@example.org>")
    assert str(make_header(decode_header(bcc))) == "Zoë <zoe@example.org>"
    assert row.params["reply_to"] == "Help Desk <help@example.com>"
    assert row.params["from_email"] == "Shop <orders@shop.example>"


def test_cloudmails_names_each_copy_of_a_message_to_several(sandbox: Sandbox) -> None:
    to = ["Ann <ann@example.org>", "bob@example.org", "Cy Young <cy@example.org>"]
    result = sandbox["cloudmails"].provider().send(message(to=to, cc=[], bcc=[]))
    assert len(result.message_ids) == 3
    rows = sandbox["cloudmails"].accepted
    assert [r.recipient for r in rows] == ["ann@example.org", "bob@example.org", "cy@example.org"]
    assert len({id(r.params) for r in rows}) == 1  # one /send/batch request
    sent = [m["to"] for m in rows[0].params["messages"]]
    assert sent == ["Ann <ann@example.org>", "bob@example.org", "Cy Young <cy@example.org>"]


@pytest.mark.parametrize("name", ["sendcloud", "aurorasendcloud"])
def test_sendcloud_style_providers_get_the_addresses_alone(sandbox: Sandbox, name: str) -> None:
    """Their `to`, `cc`, `bcc` and `replyTo` are `;`-joined addresses (AuroraSendCloud
    API Overview, Email Sending Parameters): no place for a name."""
    sandbox[name].provider().send(message())
    (row,) = sandbox[name].accepted
    assert row.params["to"] == ["ann@example.org"]
    assert row.params["cc"] == ["bob@example.org"]
    assert row.params["bcc"] == ["zoe@example.org"]
    assert row.params["reply_to"] == ["help@example.com"]
    assert (row.params["from_email"], row.params["from_name"]) == ("orders@shop.example", "Shop")


def test_aotsend_gets_the_address_alone(sandbox: Sandbox) -> None:
    sandbox["aotsend"].provider().send(
        Message(
            from_email="orders@shop.example",
            to="Ann Smith <ann@example.org>",
            reply_to="Help <help@example.com>",
            template="welcome",
        )
    )
    (row,) = sandbox["aotsend"].accepted
    assert (row.params["to"], row.params["reply_to"]) == ("ann@example.org", "help@example.com")


@pytest.mark.parametrize("name", ["cloudmails", "sendcloud"])
def test_an_idn_domain_goes_out_as_idna(sandbox: Sandbox, name: str) -> None:
    sandbox[name].provider().send(
        Message(
            from_email="from@öäü.com",
            to=["Jörg <jorg@münchen.de>"],
            subject="Hi",
            html="<p>Hi</p>",
        )
    )
    (row,) = sandbox[name].accepted
    assert row.recipient == "jorg@xn--mnchen-3ya.de"
    assert row.params["from_email"] == "from@xn--4ca9at.com"
