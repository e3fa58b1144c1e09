"""A Message takes what people write: one address string for ``to``/``cc``/``bcc``, and
the sender's name as a mailbox in ``from_email``; it reaches the provider's fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailspec import Message, ValidationError
from mailspec.sandbox import Sandbox


@pytest.fixture
def sendcloud() -> Iterator[Sandbox]:
    with Sandbox(["sendcloud"]) as running:
        yield running


def test_one_address_string_is_a_list_of_it() -> None:
    m = Message(from_email="shop@example.com", to="ann@example.org", cc="cy@example.org",
                bcc="bo@example.org", subject="Hi", text="t")  # fmt: skip
    assert (m.to, m.cc, m.bcc) == (["ann@example.org"], ["cy@example.org"], ["bo@example.org"])


@pytest.mark.parametrize(
    "written, address, name",
    [
        ("Shop <orders@shop.example>", "orders@shop.example", "Shop"),
        ('"Shop, Inc." <orders@shop.example>', "orders@shop.example", "Shop, Inc."),
        ("Café Olé <orders@shop.example>", "orders@shop.example", "Café Olé"),
        ("<orders@shop.example>", "orders@shop.example", None),
    ],
)
def test_a_mailbox_in_from_email_sets_the_address_and_the_name(
    written: str, address: str, name: str | None
) -> None:
    m = Message(from_email=written, to="ann@example.org", subject="Hi", text="t")
    assert (m.from_email, m.from_name) == (address, name)


def test_the_same_name_given_twice_is_fine_two_different_ones_are_not() -> None:
    same = Message(from_email="Shop <o@shop.example>", from_name="Shop", to="a@example.org")
    assert same.from_name == "Shop"
    with pytest.raises(ValidationError) as info:
        Message(from_email="Shop <o@shop.example>", from_name="Other", to="a@example.org")
    assert info.value.field == "from_name"


@pytest.mark.parametrize(
    "written",
    ["Shop <a@example.org>, Other <b@example.org>", "Shop <", "<>", "Shop <a@example.org> x"],
)
def test_a_mailbox_that_is_not_one_is_refused_when_built(written: str) -> None:
    with pytest.raises(ValidationError) as info:
        Message(from_email=written, to="ann@example.org")
    assert info.value.field == "from_email"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tags", b"abc"),  # bytes iterate as ints: never ['97', '98', '99']
        ("tags", bytearray(b"abc")),
        ("tags", ["a", b"b"]),
        ("tags", ["a", 1]),
        ("to", b"ann@example.org"),
        ("cc", [b"ann@example.org"]),
        ("metadata", {"k": b"v"}),
    ],
)
def test_bytes_and_other_items_that_are_not_strings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Message(**{"from_email": "a@example.com", "to": ["b@example.org"], field: value})
    assert refused.value.field == field


def test_what_people_write_reaches_the_providers_fields(sendcloud: Sandbox) -> None:
    provider = sendcloud["sendcloud"].provider()
    provider.send(
        Message(
            from_email="Shop <orders@shop.example>",
            to="ann@example.org",
            subject="Hi",
            html="<p>Hi</p>",
        )
    )
    (accepted,) = sendcloud["sendcloud"].accepted
    assert accepted.recipient == "ann@example.org"
    assert accepted.params["from_email"] == "orders@shop.example"  # as the sandbox decoded `from`
    assert accepted.params["from_name"] == "Shop"  # and `fromName`
