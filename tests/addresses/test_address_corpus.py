"""The address corpus (address_corpus.py) through the public path: a Message built with
the entry in ``to`` and checked as every provider checks it. Each valid entry is
accepted as the address and display name it stands for; each invalid one is a
ValidationError naming the field."""

from __future__ import annotations

import pytest
from address_corpus import INVALID, VALID

from mailspec import Message, ValidationError
from mailspec.checks.addresses import (
    AddressError,
    address_problem,
    is_email,
    parse_address,
    parse_mailbox,
)
from mailspec.checks.message import check_message


def built(**fields: object) -> Message:
    message = Message(from_email="shop@example.com", subject="Hi", text="Hello", **fields)  # type: ignore[arg-type]
    check_message(message)
    return message


@pytest.mark.parametrize(("written", "address", "name"), VALID)
def test_a_valid_entry_is_accepted_as_its_address_and_name(
    written: str, address: str, name: str
) -> None:
    message = built(to=[written])
    assert message.to == [address]
    assert message.display_names.get(address, "") == name


@pytest.mark.parametrize(("written", "why"), INVALID)
def test_an_invalid_entry_is_refused_naming_the_field(written: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        built(to=[written])
    assert refused.value.field == "to", why


@pytest.mark.parametrize("field", ["cc", "bcc", "reply_to"])
@pytest.mark.parametrize(("written", "address", "name"), VALID[::7])
def test_every_address_field_takes_a_mailbox(
    field: str, written: str, address: str, name: str
) -> None:
    message = built(to=["ann@example.org"], **{field: [written]})
    assert getattr(message, field) == [address]
    assert message.display_names.get(address, "") == name


@pytest.mark.parametrize("field", ["cc", "bcc", "reply_to"])
@pytest.mark.parametrize(("written", "why"), INVALID[::9])
def test_every_address_field_refuses_what_to_refuses(field: str, written: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        built(to=["ann@example.org"], **{field: [written]})
    assert refused.value.field == field, why


@pytest.mark.parametrize(("written", "why"), INVALID[::9])
def test_the_sender_is_refused_as_a_recipient_is(written: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_message(Message(from_email=written, to="ann@example.org", subject="s", text="t"))
    assert refused.value.field == "from_email", why


@pytest.mark.parametrize("address", [a for _, a, _ in VALID])
def test_the_plain_check_and_the_parser_agree_on_a_normalised_address(address: str) -> None:
    """address_problem takes a fast path for plain ASCII addresses; it must not accept
    what the parser refuses, nor refuse what it accepts."""
    assert address_problem(address) is None
    assert parse_address(address) == address
    assert is_email(address)


@pytest.mark.parametrize(("written", "why"), INVALID)
def test_the_plain_check_refuses_every_invalid_entry(written: str, why: str) -> None:
    assert address_problem(written) is not None, why
    assert not is_email(written), why


def test_an_entry_with_two_addresses_is_never_split() -> None:
    """CVE-2023-27043: Python 3.11.7's getaddresses reads this entry as two addresses."""
    with pytest.raises(AddressError, match="display name outside double quotes"):
        parse_mailbox("alice@example.org:<bob@example.com>")
    with pytest.raises(AddressError, match="one entry holds one address"):
        parse_mailbox("ann@example.org, evil@example.com")


def test_the_reasons_say_what_is_wrong() -> None:
    reasons = {
        "webmaster@localhost": "has no dot",
        "ann@xn--0.com": "not valid punycode",
        "ann..b@example.org": "two dots in a row",
        "ann\u202e@example.org": "bidi control",
        "ann@-example.org": "hyphen",
        f"ann@{'a' * 64}.org": "longer than 63",
        "ann@[192.0.2.1]": "address literal",
    }
    for written, reason in reasons.items():
        with pytest.raises(ValidationError, match=reason):
            built(to=[written])


def test_the_corpus_is_large_enough() -> None:
    assert len(VALID) >= 100 and len(INVALID) >= 100
