"""A Message takes mailboxes in ``to``, ``cc``, ``bcc`` and ``reply_to``: the fields hold
the addresses, ``display_names`` the names, and everything keyed by address keys on
the bare address."""

from __future__ import annotations

import msgspec
import pytest

from mailspec import Message, ValidationError
from mailspec.checks.message import check_message


def test_one_mailbox_string_is_a_list_of_its_address_with_its_name() -> None:
    m = Message(from_email="shop@example.com", to="Ann Smith <ann@example.org>")
    assert m.to == ["ann@example.org"]
    assert m.display_names == {"ann@example.org": "Ann Smith"}


def test_names_of_every_field_are_kept_by_address() -> None:
    m = Message(
        from_email="Shop <shop@example.com>",
        to=["Ann <ann@example.org>", "plain@example.org"],
        cc=['"Smith, Bob" <bob@example.org>'],
        bcc=["Zoë Ünïcödé <zoe@example.org>"],
        reply_to="Help Desk <help@example.com>",
    )
    assert (m.to, m.cc, m.bcc, m.reply_to) == (
        ["ann@example.org", "plain@example.org"],
        ["bob@example.org"],
        ["zoe@example.org"],
        "help@example.com",
    )
    assert m.display_names == {
        "ann@example.org": "Ann",
        "bob@example.org": "Smith, Bob",
        "zoe@example.org": "Zoë Ünïcödé",
        "help@example.com": "Help Desk",
    }
    assert (m.from_email, m.from_name) == ("shop@example.com", "Shop")


def test_recipient_variables_key_on_the_bare_address() -> None:
    m = Message(
        from_email="shop@example.com",
        to=["Ann <ann@öäü.com>"],
        subject="Hi %name%",
        text="t",
        recipient_variables={"ann@öäü.com": {"name": "Ann"}},
    )
    assert m.to == ["ann@xn--4ca9at.com"]
    assert m.recipient_variables == {"ann@xn--4ca9at.com": {"name": "Ann"}}
    check_message(m)  # the key is one of the recipients


def test_a_message_round_trips_through_msgspec_with_its_names() -> None:
    m = Message(from_email="shop@example.com", to="Ann <ann@example.org>", subject="s", text="t")
    again = msgspec.json.decode(msgspec.json.encode(m), type=Message)
    assert again == m and again.display_names == {"ann@example.org": "Ann"}


def test_two_different_names_for_one_address_are_refused() -> None:
    with pytest.raises(ValidationError, match="two display names") as refused:
        Message(from_email="s@example.com", to="Ann <a@example.org>", cc="Annie <a@example.org>")
    assert refused.value.field == "cc"
    same = Message(from_email="s@example.com", to="Ann <a@example.org>", cc="Ann <a@example.org>")
    assert same.display_names == {"a@example.org": "Ann"}


def test_a_name_for_an_address_the_message_does_not_have_is_refused() -> None:
    m = Message(
        from_email="s@example.com",
        to="a@example.org",
        subject="s",
        text="t",
        display_names={"b@example.org": "Bob"},
    )
    with pytest.raises(ValidationError, match="not one of the message's addresses") as refused:
        check_message(m)
    assert refused.value.field == "display_names"


@pytest.mark.parametrize("name", ["Ann\u202eevil", "Ann\r\nBcc: x@example.org", "Ann\x00"])
def test_a_name_given_directly_is_checked_as_a_parsed_one_is(name: str) -> None:
    m = Message(
        from_email="s@example.com",
        to="a@example.org",
        subject="s",
        text="t",
        display_names={"a@example.org": name},
    )
    with pytest.raises(ValidationError) as refused:
        check_message(m)
    assert refused.value.field == "display_names[a@example.org]"


def test_a_sender_mailbox_holding_two_addresses_is_refused() -> None:
    """CVE-2023-27043's case in from_email: refused when built, never half-parsed."""
    with pytest.raises(ValidationError, match="one mailbox") as refused:
        Message(from_email="alice@example.org:<bob@example.com>", to="ann@example.org")
    assert refused.value.field == "from_email"


def test_an_idn_sender_is_held_as_django_sends_it() -> None:
    m = Message(from_email="from@öäü.com", to="ann@example.org", subject="s", text="t")
    assert m.from_email == "from@xn--4ca9at.com"
    check_message(m)


def test_a_wrong_type_in_an_address_list_is_still_a_type_error() -> None:
    with pytest.raises(ValidationError) as refused:
        Message(from_email="s@example.com", to=["Ann <a@example.org>", 3])  # type: ignore[list-item]
    assert refused.value.field == "to"
