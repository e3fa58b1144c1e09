"""Fuzzing the public API with hypothesis: wrong types and hostile strings in every
argument, and no exception outside MailspecError ever escapes.

Surfaces, each call's result (or error) repr'd too:

- ``Message(...)`` and ``Attachment(...)`` with random values of every type;
- ``mailspec.provider(...)`` with random names, options, credential names and types,
  and base_url strings;
- ``mailspec.provider_from_url(...)`` with random strings built from URL pieces;
- ``provider.status(...)`` with random arguments, against the sandboxes.

- ``Mailer``/``AsyncMailer`` (every constructor option, then a send; the methods;
  ``from_env``/``from_config``), ``mailspec.store()``, ``webhooks.parse()`` and
  ``explain_code()``: see the section at the end, which counts escapes (about 5,900
  calls).

(``provider.send()`` and ``Mailer.send()`` of random messages are in test_fuzz.py.)
Example counts below, one API call each (plus the repr of its result or error, and a
second call on what was built): 2,500 + 700 + 2,500 + 3,000 + 600 = 9,300 calls, about
30 s on two cores; with test_fuzz.py's 200 sends, 9,500. Derandomized, so CI runs the
same examples.
A call's signature errors (a missing or unknown keyword) stay Python's TypeError, as
for any function; the values are what is fuzzed.
"""

from __future__ import annotations

import asyncio
import datetime
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_support import NAMES, SPECS
from time_support import FakeClock

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


# --- the Mailer's entry points, configuration, stores, webhooks, code tables -------------
#
# Mailer and AsyncMailer (their constructors with every option, their methods,
# from_env and from_config), mailspec.store(), webhooks.parse() and explain_code(),
# with wrong-typed and wrong-valued arguments. Escapes are collected rather than failed
# on at once, so that one run counts them all (the figure to compare before and after a
# fix); each test then asserts there were none. About 6,000 calls in all, derandomized.

ENTRY_POINTS = {
    "mailer": 1500,  # plus a send through each Mailer built
    "async_mailer": 400,
    "mailer_methods": 1500,
    "async_methods": 400,
    "configuration": 800,
    "store": 400,
    "webhooks": 600,
    "explain_code": 200,
}


class Escapes:
    """Calls made, and those that let an exception other than MailspecError out."""

    def __init__(self) -> None:
        self.calls = 0
        self.found: list[str] = []

    def call(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            result = call(*args, **kwargs)
            repr(result)
        except MailspecError as exc:
            repr(exc), str(exc)
            return None
        except Exception as exc:
            name = getattr(call, "__qualname__", repr(call))
            self.found.append(f"{type(exc).__name__} escaped {name}: {exc}"[:240])
            return None
        return result

    def assert_none(self) -> None:
        print(f"fuzz: {self.calls} calls, {len(self.found)} escaped")  # shown with -s
        shown = "\n".join(sorted(set(self.found))[:25])
        assert not self.found, f"{len(self.found)} of {self.calls} calls escaped:\n{shown}"


def run_fuzz(examples: int, strategy: st.SearchStrategy[Any], body: Callable[..., None]) -> None:
    """``body(escapes, drawn)`` for ``examples`` draws of ``strategy``, then no escape."""
    escapes = Escapes()

    @settings(COMMON, max_examples=examples, database=None)
    @given(drawn=strategy)
    def each(drawn: Any) -> None:
        body(escapes, drawn)

    each()
    escapes.assert_none()


def a_message(i: int = 0) -> Message:
    return Message(
        from_email="shop@example.com", to=[f"r{i}@example.org"], subject="s", html="<p>x</p>"
    )


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, anything)


def mailer_options(clock: FakeClock) -> st.SearchStrategy[dict[str, Any]]:
    """Every Mailer option, each a valid value or anything at all."""
    valid = {
        "strategy": st.sampled_from(["failover", "round_robin", "weighted", "Failover"]),
        "weights": st.lists(st.floats(0, 5), min_size=1, max_size=2),
        "max_attempts": st.integers(-1, 3),
        "deadline": st.floats(-1, 5),
        "backoff": st.floats(0, 0.01),
        "backoff_max": st.floats(0, 0.02),
        "on_ambiguous": st.sampled_from(["stop", "failover", "retry"]),
        "on_unsupported": st.sampled_from(["drop", "skip", "keep"]),
        "breaker_threshold": st.none() | st.integers(-1, 5),
        "breaker_cooldown": st.floats(-1, 30),
        "rate_limit": st.booleans(),
        "rate_limit_wait": st.floats(-1, 0.01),
        "store": st.sampled_from(["memory://", "memory://?max_records=5", "nope://", ""]),
        "ledger": st.booleans(),
        "claim_lease": st.none() | st.floats(0, 60),
        "on_attempt": st.none() | st.just(lambda attempt: None),
        "telemetry": st.booleans(),
        "clock": st.none() | st.just(clock),
        "sleep": st.none() | st.just(clock.sleep),
        "random": st.none() | st.builds(random.Random, st.integers(0, 9)),
    }
    return st.fixed_dictionaries({}, optional={k: either(v) for k, v in valid.items()})


@pytest.fixture(scope="module")
def cloudmails() -> Iterator[SandboxServer]:
    server = SandboxServer("cloudmails").start()
    yield server
    server.stop()


def some_providers(server: SandboxServer) -> st.SearchStrategy[Any]:
    one = server.provider(timeout=5)
    return st.one_of(
        st.just([one]), st.just((one, one)), st.just([]), anything, st.lists(anything, max_size=2)
    )


def test_any_mailer_options_build_or_raise_a_validation_error(cloudmails) -> None:
    clock = FakeClock()

    def body(escapes: Escapes, drawn: tuple[Any, dict[str, Any]]) -> None:
        providers, options = drawn
        built = escapes.call(mailspec.Mailer, providers, **options)
        if built is not None:  # whatever it took, it sends or raises a MailspecError
            escapes.call(built.send, a_message())

    run_fuzz(
        ENTRY_POINTS["mailer"],
        st.tuples(some_providers(cloudmails), mailer_options(clock)),
        body,
    )


def test_any_async_mailer_options_build_or_raise_a_validation_error(cloudmails) -> None:
    clock = FakeClock()
    extra = {
        "connections": either(st.integers(-1, 3)),
        "sleep": either(st.none() | st.just(clock.sleep)),
    }

    def body(escapes: Escapes, drawn: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
        providers, options, more = drawn
        built = escapes.call(mailspec.AsyncMailer, providers, **{**options, **more})
        if built is not None:
            escapes.call(lambda: asyncio.run(built.send(a_message())))

    options = mailer_options(clock).map(lambda o: {k: v for k, v in o.items() if k != "sleep"})
    run_fuzz(
        ENTRY_POINTS["async_mailer"],
        st.tuples(some_providers(cloudmails), options, st.fixed_dictionaries({}, optional=extra)),
        body,
    )


def method_calls() -> st.SearchStrategy[tuple[str, list[Any], dict[str, Any]]]:
    """A Mailer method's name, positional and keyword arguments, wrong or right."""
    a_result = st.builds(
        mailspec.SendResult,
        provider=st.sampled_from(["cloudmails", "other"]) | nasty_text,
        message_ids=st.lists(st.sampled_from(["x", ""]), max_size=2),
    )
    messages = st.one_of(
        anything,
        st.lists(st.just(a_message()) | anything, max_size=3),
        st.just(iter([a_message()])),
    )
    return st.one_of(
        st.tuples(st.just("send"), st.lists(anything, min_size=1, max_size=1), st.just({})),
        st.tuples(
            st.just("send_many"),
            st.tuples(messages).map(list),
            st.fixed_dictionaries(
                {},
                optional={
                    "concurrency": either(st.integers(-1, 3)),
                    "on_progress": either(st.none() | st.just(lambda *a: None)),
                },
            ),
        ),
        st.tuples(
            st.just("status"),
            st.tuples(either(a_result)).map(list),
            st.fixed_dictionaries(
                {}, optional={"since": anything, "until": anything, "recipient": anything}
            ),
        ),
        st.tuples(
            st.sampled_from(["provider", "breaker"]),
            st.tuples(either(st.sampled_from(["cloudmails", "x"]))).map(list),
            st.just({}),
        ),
    )


def test_any_mailer_method_arguments_answer_or_raise_a_mailspec_error(cloudmails) -> None:
    mailer = mailspec.Mailer([cloudmails.provider(timeout=5)], deadline=5)

    def body(escapes: Escapes, drawn: tuple[str, list[Any], dict[str, Any]]) -> None:
        name, args, kwargs = drawn
        escapes.call(getattr(mailer, name), *args, **kwargs)

    run_fuzz(ENTRY_POINTS["mailer_methods"], method_calls(), body)


def test_any_async_mailer_method_arguments_answer_or_raise_a_mailspec_error(
    cloudmails,
) -> None:
    mailer = mailspec.AsyncMailer([cloudmails.provider(timeout=5)], deadline=5)

    def body(escapes: Escapes, drawn: tuple[str, list[Any], dict[str, Any]]) -> None:
        name, args, kwargs = drawn
        method = getattr(mailer, name)
        if asyncio.iscoroutinefunction(method):
            escapes.call(lambda: asyncio.run(method(*args, **kwargs)))
        else:
            escapes.call(method, *args, **kwargs)

    run_fuzz(ENTRY_POINTS["async_methods"], method_calls(), body)


SETTING_KEYS = [
    "providers", "store", "timeout", "strategy", "weights", "max_attempts", "deadline",
    "backoff", "backoff_max", "on_ambiguous", "on_unsupported", "breaker_threshold",
    "breaker_cooldown", "rate_limit", "rate_limit_wait", "ledger", "claim_lease", "telemetry",
]  # fmt: skip


def test_any_configuration_builds_or_raises_a_mailspec_error(cloudmails) -> None:
    clock = FakeClock()
    value = st.one_of(
        st.sampled_from([cloudmails.url, "memory://", "1", "0", "true", "none", "weighted", "-1"]),
        nasty_text,
        anything,
    )
    config = st.one_of(
        st.dictionaries(st.sampled_from(SETTING_KEYS) | scalar, value, max_size=4), anything
    )
    environ = st.one_of(
        st.dictionaries(
            st.sampled_from([f"MAILSPEC_{k.upper()}" for k in SETTING_KEYS]) | nasty_text,
            st.sampled_from([cloudmails.url, "memory://", "2", "off", " "]) | nasty_text,
            max_size=4,
        ),
        anything,
    )
    options = mailer_options(clock).map(lambda o: dict(list(o.items())[:2]))
    calls = st.one_of(
        st.tuples(st.sampled_from(["Mailer", "AsyncMailer"]), st.just("from_config"), config),
        st.tuples(st.sampled_from(["Mailer", "AsyncMailer"]), st.just("from_env"), environ),
    )

    def body(escapes: Escapes, drawn: tuple[tuple[str, str, Any], dict[str, Any]]) -> None:
        (cls, how, given), extra = drawn
        escapes.call(getattr(getattr(mailspec, cls), how), given, **extra)

    run_fuzz(ENTRY_POINTS["configuration"], st.tuples(calls, options), body)


def test_any_store_url_opens_or_raises_a_mailspec_error(tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("stores")
    url = st.one_of(
        anything,
        st.builds(
            lambda scheme, rest: f"{scheme}{rest}",
            st.sampled_from(
                ["memory://", "redis://", "rediss://", f"sqlite:///{folder}/", "x://", ""]
            ),
            st.lists(
                url_piece | st.sampled_from(["?max_records=", "?timeout=x", ":99999", "x\ud800"]),
                max_size=3,
            ).map("".join),
        ),
    )
    run_fuzz(ENTRY_POINTS["store"], url, lambda escapes, drawn: escapes.call(mailspec.store, drawn))


def test_any_webhook_arguments_parse_or_raise_a_mailspec_error() -> None:
    arguments = st.tuples(
        st.sampled_from(NAMES) | anything,
        st.one_of(st.binary(max_size=20), nasty_text, anything, st.just(b'{"event": "x"}')),
        st.one_of(
            st.dictionaries(
                st.sampled_from(["Content-Type", "X-Signature"]) | nasty_text,
                st.sampled_from(["application/json", "text/plain"]) | nasty_text | anything,
                max_size=2,
            ),
            anything,
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "secret": either(st.none() | nasty_text),
                "now": either(st.none() | st.floats(0, 2e9)),
                "url": either(st.none() | nasty_text),
                "verify": either(st.booleans()),
                "tolerance": either(st.none() | st.floats(-1, 600)),
                "replay": anything,
            },
        ),
    )

    def body(escapes: Escapes, drawn: tuple[Any, Any, Any, dict[str, Any]]) -> None:
        name, payload, headers, options = drawn
        escapes.call(mailspec.webhooks.parse, name, payload, headers, **options)

    run_fuzz(ENTRY_POINTS["webhooks"], arguments, body)


def test_any_explain_code_arguments_answer_or_raise_a_mailspec_error() -> None:
    arguments = st.tuples(st.sampled_from(NAMES) | anything, either(st.integers(-1, 60_000)))
    run_fuzz(
        ENTRY_POINTS["explain_code"],
        arguments,
        lambda escapes, drawn: escapes.call(mailspec.explain_code, *drawn),
    )
