"""The text scan of the message check: its ASCII fast path (``bytes.translate`` in C)
says exactly what the character-by-character regex says, for every string, so the
same messages pass and the same ones are refused with the same words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec import ValidationError
from mailspec.checks import message as checks

# the rules as written before the fast path: one regex per kind of text
LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def verdict(text: str, *, body: bool) -> str | None:
    """What the check says of ``text``: None when it passes, else its error."""
    try:
        checks._check_text("html" if body else "subject", text, body=body)
    except ValidationError as error:
        return str(error)
    return None


def reference(text: str, *, body: bool) -> str | None:
    """The same verdict from the regex alone."""
    found = (BODY if body else LINE).search(text)
    if found is None:
        return None
    char, at = found.group(), found.start()
    field = "html" if body else "subject"
    if "\ud800" <= char <= "\udfff":
        return f"{field}: cannot be encoded as UTF-8: a lone surrogate at {at}"
    if char in "\r\n":
        return f"{field}: must not contain line breaks (header injection)"
    return f"{field}: must not contain control characters (U+{ord(char):04X} at {at})"


# text that is mostly what people write, with every troublesome character likely
TEXTS = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("\t\n\r\x00\x07\x0b\x1b\x7f\x85\x9f\u00e9\u2028\ud800\udfff\U0001f600"),
    ),
    max_size=300,
)


@settings(max_examples=3000, deadline=None)
@given(TEXTS, st.booleans())
def test_the_fast_path_agrees_with_the_regex(text: str, body: bool) -> None:
    assert verdict(text, body=body) == reference(text, body=body)


@pytest.mark.parametrize("code", range(0x00, 0x100))
@pytest.mark.parametrize("body", [False, True])
def test_every_latin_1_character_alone_and_in_a_long_body(code: int, body: bool) -> None:
    char = chr(code)
    for text in (char, "<p>" + "x" * 2000 + char + "</p>"):
        assert verdict(text, body=body) == reference(text, body=body)


# --- a provider's rules alone: what a Mailer asks of each provider after its own check --

RULE_CASES = [
    {"to": ["ann@example.org"], "subject": "Hi", "html": "<p>x</p>"},
    {"to": ["ann@example.org"], "subject": "Hi", "text": "x"},  # no html
    {"to": ["ann@example.org"], "html": "<p>x</p>"},  # no subject
    {"to": [], "cc": ["ann@example.org"], "subject": "Hi", "html": "<p>x</p>"},  # no to
    {"to": [f"r{i}@example.org" for i in range(1200)], "subject": "Hi", "html": "x"},
    {
        "to": ["ann@example.org"],
        "subject": "Hi",
        "html": "x",
        "reply_to": [f"r{i}@example.org" for i in range(30)],
    },
    {"to": ["ann@example.org"], "template": "T-1", "variables": {"a": "b"}},
]


def _outcome(check: object, message: object) -> str | None:
    try:
        check(message)  # type: ignore[operator]
    except Exception as error:  # the same class and words are what is compared
        return f"{type(error).__name__}: {error}"
    return None


@pytest.mark.parametrize("name", ["aurorasendcloud", "sendcloud", "cloudmails", "aotsend"])
@pytest.mark.parametrize("fields", RULE_CASES)
def test_a_providers_rules_refuse_what_its_whole_check_refuses(name: str, fields: dict) -> None:
    import mailspec
    from mailspec import Message

    provider = mailspec.provider(name, **{c: "x" for c in _credentials(name)})
    message = Message(from_email="shop@example.com", **fields)
    checks.check_message(message)  # every case is a good message: only rules differ
    assert _outcome(provider.check_rules, message) == _outcome(provider.check, message)


def _credentials(name: str) -> list[str]:
    from mailspec import registry
    from mailspec.spec_model import auth_keywords

    return auth_keywords(registry.spec(name).auth)[0]
