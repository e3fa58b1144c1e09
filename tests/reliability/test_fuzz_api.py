"""Fuzzing the public API with hypothesis: wrong types and hostile strings in every
argument, and no exception outside MailspecError ever escapes.

Surfaces, each call's result (or error) repr'd too:

- ``Message(...)`` and ``Attachment(...)`` with random values of every type;
- ``mailspec.provider(...)`` with random names, options, credential names and types,
  and base_url strings;
- ``mailspec.provider_from_url(...)`` with random strings built from URL pieces;
- ``provider.status(...)`` with random arguments, against the sandboxes.

(``provider.send()`` and ``Mailer.send()`` of random messages are in test_fuzz.py.)
Example counts below, one API call each (plus the repr of its result or error, and a
second call on what was built): 2,500 + 700 + 2,500 + 3,000 + 600 = 9,300 calls, about
30 s on two cores; with test_fuzz.py's 200 sends, 9,500. Derandomized, so CI runs the
same examples.
A call's signature errors (a missing or unknown keyword) stay Python's TypeError, as
for any function; the values are what is fuzzed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_support import NAMES, SPECS

import mailspec
from mailspec import Attachment, MailspecError, Message
from mailspec.sandbox import SandboxServer

MESSAGES = 2500
ATTACHMENTS = 700
PROVIDERS = 2500
URLS = 3000
STATUS = 600

COMMON = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def clean(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(...)`` and the repr of what it returned or raised; any exception outside
    MailspecError fails the test, naming the call."""
    try:
        result = call(*args, **kwargs)
        repr(result)
    except MailspecError as exc:
        repr(exc), str(exc)
        return None
    except Exception as exc:
        pytest.fail(f"{type(exc).__name__} escaped {call.__qualname__}{args!r} {kwargs!r}: {exc}")
    return result


NASTY = ["", "\x00", "\r\n", "\x1b", "\x7f", "\x85", "\ud800", "é", "[", "]", "@", ":", "/",
         "?", "#", "%", "%zz", "%5B", "::1", "127.0.0.1", "localhost", " "]  # fmt: skip
nasty_text = st.one_of(
    st.text(max_size=12),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=3), max_size=5).map("".join),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    nasty_text,
    st.binary(max_size=5),
    st.just(object()),
    st.just(datetime.date(2024, 5, 1)),
)
anything = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(nasty_text, st.integers()), inner, max_size=3),
        st.sets(st.integers(), max_size=2),
    ),
    max_leaves=6,
)
an_address = st.sampled_from(["ann@example.org", "bob@example.org", "a\x00@example.org"])
attachment = st.builds(Attachment, filename=st.text(max_size=5), content=st.binary(max_size=8))


def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, anything, st.lists(anything, max_size=2))


message_fields = st.fixed_dictionaries(
    {"from_email": field(an_address), "to": field(st.lists(an_address, max_size=2))},
    optional={
        name: field(valid)
        for name, valid in {
            "from_name": nasty_text,
            "cc": st.lists(an_address, max_size=2),
            "bcc": st.lists(an_address, max_size=2),
            "reply_to": an_address,
            "subject": nasty_text,
            "html": nasty_text,
            "text": nasty_text,
            "attachments": st.lists(attachment, max_size=2),
            "headers": st.dictionaries(nasty_text, nasty_text, max_size=2),
            "tags": st.lists(nasty_text, max_size=2),
            "metadata": st.dictionaries(nasty_text, nasty_text, max_size=2),
            "template": nasty_text,
            "variables": st.dictionaries(nasty_text, nasty_text, max_size=2),
            "recipient_variables": st.dictionaries(
                an_address, st.dictionaries(nasty_text, anything, max_size=2), max_size=2
            ),
        }.items()
    },
)


@settings(COMMON, max_examples=MESSAGES)
@given(fields=message_fields)
def test_any_message_values_build_or_raise_a_validation_error(fields) -> None:
    message = clean(Message, **fields)
    if message is not None:
        clean(message.set_fields)


@settings(COMMON, max_examples=ATTACHMENTS)
@given(args=st.lists(anything, min_size=2, max_size=4))
def test_any_attachment_values_build_or_raise_a_validation_error(args) -> None:
    attachment = clean(Attachment, *args)
    if attachment is not None:
        clean(Message, from_email="a@example.org", to=["b@example.org"], attachments=[attachment])


# --- provider() and provider_from_url() -------------------------------------------------

CREDENTIAL_NAMES = sorted(
    {n for spec in SPECS.values() for n in (*spec.auth.body, spec.auth.bearer or "api_key")}
    | {"sms_user", "sms_key", "app_key"}
)
base_url = st.one_of(
    nasty_text,
    st.builds(
        lambda scheme, host, rest: f"{scheme}{host}{rest}",
        st.sampled_from(["http://", "https://", "ftp://", "", "http:", "https:///"]),
        st.sampled_from(["127.0.0.1", "[::1", "[::1]", "localhost", "[", "x.example", "[v1.x]"])
        | nasty_text,
        st.sampled_from(["", "/", ":8025/v1", ":99999/", ":x/", "/?#", "@h"]) | nasty_text,
    ),
    anything,
)
OPTIONS = {
    "transport": st.sampled_from(["http", "smtp"]) | anything,
    "base_url": base_url,
    "region": st.sampled_from(["us", "sg", "hk", ""]) | anything,
    "timeout": st.floats(allow_nan=True) | anything,
    "ca_certs": st.sampled_from(["/nonexistent/ca.pem", ""]) | anything,
    "signed": anything,
    "smtp_host": st.sampled_from(["127.0.0.1", "[::1"]) | anything,
    "smtp_port": st.integers(-1, 70_000) | anything,
    "starttls": anything,
}
credentials = st.dictionaries(
    st.sampled_from(CREDENTIAL_NAMES),
    st.one_of(st.sampled_from(["k", "user", "key\n"]), anything),
    max_size=4,
)


@settings(COMMON, max_examples=PROVIDERS)
@given(
    name=st.sampled_from(NAMES) | anything,
    options=st.fixed_dictionaries({}, optional=OPTIONS),
    creds=credentials,
)
def test_any_provider_arguments_build_or_raise_a_mailspec_error(name, options, creds) -> None:
    built = clean(mailspec.provider, name, **options, **creds)
    if built is not None:
        clean(lambda: built.capabilities)


url_piece = st.sampled_from(NASTY) | nasty_text
provider_url = st.one_of(
    nasty_text,
    anything,
    st.builds(
        lambda scheme, user, host, query: f"{scheme}://{user}@{host}{query}",
        st.sampled_from([*NAMES, "aurorasendcloud+smtp", "x", "", "cloudmails+ftp"]),
        st.lists(url_piece, max_size=3).map(":".join),
        st.sampled_from(["us", "[us", "[::1", "", "sg:80", "[::1]:x"]) | url_piece,
        st.sampled_from(
            [
                "",
                "?base_url=http%3A%2F%2F%5B",
                "?timeout=nan",
                "?timeout=x",
                "?smtp_port=99999999",
                "?x=1",
                "?base_url=",
                "?timeout=1e999",
            ]
        )
        | url_piece.map(lambda q: f"?{q}"),
    ),
)


@settings(COMMON, max_examples=URLS)
@given(url=provider_url)
def test_any_provider_url_builds_or_raises_a_mailspec_error(url) -> None:
    built = clean(mailspec.provider_from_url, url)
    if built is not None:
        clean(lambda: built.name)


# --- status() -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, SandboxServer]]:
    servers = {n: SandboxServer(n).start() for n in NAMES}
    yield servers
    for s in servers.values():
        s.stop()


# a few days in May 2024, so that a window splits into few requests (the window's
# bounds and far dates are another worktree's: status() window bound)
day = st.dates(datetime.date(2024, 5, 1), datetime.date(2024, 5, 9))
when = st.one_of(day, day.map(lambda d: datetime.datetime(d.year, d.month, d.day, 12)), anything)
ids = st.one_of(
    st.lists(st.sampled_from(["auro-000001", "x", "", "a/b?c#d", "\x00", "\ud800"]), max_size=3),
    nasty_text,
    anything,
)


@settings(COMMON, max_examples=STATUS)
@given(
    which=st.sampled_from(NAMES),
    args=st.lists(ids, max_size=1),
    kwargs=st.fixed_dictionaries(
        {}, optional={"since": when, "until": when, "recipient": st.none() | nasty_text | anything}
    ),
)
def test_any_status_arguments_answer_or_raise_a_mailspec_error(
    sandboxes, which, args, kwargs
) -> None:
    provider = sandboxes[which].provider(timeout=5)
    statuses = clean(provider.status, *args, **kwargs)
    assert statuses is None or all(isinstance(s, mailspec.DeliveryStatus) for s in statuses)
