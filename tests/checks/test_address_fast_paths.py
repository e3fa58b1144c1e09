"""The address checks' fast paths (a plain address told by one regex, ASCII text
scanned in C, the ``<`` found without a loop where nothing is quoted) say exactly what
the parser says, for every string: the same addresses pass, the same are refused with
the same words, and the suppression list compares the same bare addresses."""

from __future__ import annotations

import unicodedata
from email.utils import parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec.checks import addresses
from mailspec.checks.addresses import (
    AddressError,
    is_mailbox,
    is_plain_address,
    parse_address,
    parse_mailbox,
)
from mailspec.mailer.suppressions import bare_address

# addresses as people write them, and near misses: quotes, angles, names, IDNA, dots,
# hyphen pairs, controls, surrogates, non-ASCII, over-long parts
PIECES = st.sampled_from(
    [
        "ann", "a.b", "o'neil", "x+tag", "a--b", "xn--bcher-kva", "b\u00fccher", "\u00e9",
        "example", "org", "c0m", "-x", "x-", "1st", ".", "..", "@", "@@", "<", ">", '"',
        '"a b"', " ", "\t", ",", "(c)", "\\", "\r\n", "\x00", "\x7f", "\x85", "\ud800",
        "\u202e", "Ann Lee", '"Lee, Ann"', "a" * 65, "b" * 64, "c" * 70,
    ]
)  # fmt: skip
ADDRESS_LIKE = st.one_of(
    st.lists(PIECES, max_size=8).map("".join),
    st.builds(
        lambda name, local, domain, angle: (
            f"{name} <{local}@{domain}>" if angle else f"{local}@{domain}"
        ),
        st.lists(PIECES, max_size=3).map("".join),
        st.lists(PIECES, min_size=1, max_size=3).map("".join),
        st.lists(PIECES, min_size=1, max_size=4).map(".".join),
        st.booleans(),
    ),
    st.from_regex(addresses._PLAIN, fullmatch=True),
    st.text(max_size=80),
)


def parses(text: str) -> bool:
    """The parser's own verdict: what is_mailbox said before its fast path."""
    try:
        parse_mailbox(text)
    except AddressError:
        return False
    return True


@settings(max_examples=2000, deadline=None)
@given(ADDRESS_LIKE)
def test_is_mailbox_says_what_the_parser_says(text: str) -> None:
    assert is_mailbox(text) == parses(text)


@settings(max_examples=1000, deadline=None)
@given(ADDRESS_LIKE)
def test_a_plain_address_is_one_the_parser_gives_back_as_it_is(text: str) -> None:
    if is_plain_address(text):
        assert parse_address(text) == text
        assert parse_mailbox(text) == ("", text)


@settings(max_examples=1000, deadline=None)
@given(ADDRESS_LIKE)
def test_the_bare_address_of_a_plain_one_is_parseaddrs(text: str) -> None:
    address = parseaddr(text)[1]
    assert bare_address(text) == (address or text).strip().lower()


def reference_refusal(text: str) -> str | None:
    """What the character-by-character scan said before the ASCII fast path."""
    for char in text:
        if char in "\r\n":
            return "a line break (header injection)"
        if unicodedata.category(char) == "Cc":
            return f"a control character (U+{ord(char):04X})"
        if unicodedata.category(char) == "Cs":
            return f"a lone surrogate (U+{ord(char):04X}): UTF-8 cannot encode it"
    return None


def refusal(text: str) -> str | None:
    try:
        addresses._refuse_controls(text)
    except AddressError as error:
        return str(error)
    return None


@settings(max_examples=1000, deadline=None)
@given(ADDRESS_LIKE)
def test_the_control_scan_refuses_what_the_character_loop_refuses(text: str) -> None:
    assert refusal(text) == reference_refusal(text)


@pytest.mark.parametrize("code", [*range(0x00, 0x100), 0x2028, 0xD800, 0xDFFF])
def test_every_low_code_point_is_scanned_as_before(code: int) -> None:
    text = f"ann{chr(code)}@example.org"
    assert refusal(text) == reference_refusal(text)


@pytest.mark.parametrize(
    "text",
    ['"a<b" <ann@example.org>', '"Lee, Ann" <ann@example.org>', "Ann <ann@example.org>"],
)
def test_the_opening_angle_is_found_outside_quotes(text: str) -> None:
    assert parse_mailbox(text).address == "ann@example.org"


@pytest.mark.parametrize("text", ['""@example.org', '"" <""@example.org>', '""@'])
def test_an_empty_quoted_local_part_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(AddressError, match="empty quoted local part"):
        parse_mailbox(text)
