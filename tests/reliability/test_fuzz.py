"""Fuzzing with hypothesis, three surfaces:

1. any Message → a send (to a sandbox) or ValidationError/UnsupportedOperation, never
   another exception, and never an injected header line on the wire;
2. any response body → a result or a ProviderError;
3. any mutation of a valid spec → a generated package or a SpecError with file and line;
   mutations that would exhaust the generator (aliases, deep nesting, bulk) too, each
   within SPEC_SECONDS.

Example counts: MESSAGES, BODIES (x4 providers' envelopes via one canned server per
provider style), SPEC_TEXT, SPEC_DATA and SPEC_HOSTILE below; deadline=None so a slow CI box does not
flake.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from spec_support import NAMES, credentials, template_only

import mailspec
from mailspec import (
    AllProvidersFailed,
    Mailer,
    Message,
    ProviderError,
    UnsupportedOperation,
    ValidationError,
)
from mailspec.codegen.checks import check
from mailspec.codegen.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, SpecError, load_text
from mailspec.message import Attachment
from mailspec.sandbox import SandboxServer

MESSAGES = 200
BODIES = 150
SPEC_TEXT = 150
SPEC_DATA = 150
SPEC_HOSTILE = 60
SPEC_SECONDS = 5.0  # for one hostile spec to generate or be refused (unbounded, they took 25-129 s); generous, as the machine may be loaded

ROOT = Path(__file__).resolve().parents[2]
COMMON = settings(
    deadline=None,
    derandomize=True,  # repeatable in CI; change the examples by changing the strategies
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

# --- 1. messages --------------------------------------------------------------------------

NASTY = ["\r", "\n", "\r\n", "\x00", "\x08", "\x1b", "\x7f", "\x9b", "\ud800", "\t", "/", "?", "#", "%0d%0a", "\u2028", "\x85", ";", ",", "<", ">", '"', ":",
         "Bcc: evil@example.com", "\r\nX-Injected: 1", "é", "😀", "%name%", "{{x}}"]  # fmt: skip
text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=5), max_size=6).map("".join),
    st.sampled_from(["", "x" * 256, "y" * 70_000]),
)
address = st.one_of(
    st.sampled_from(["ann@example.org", "bob@example.org", "b.o+b@mail.example.co.uk"]),
    st.builds(
        lambda a, b: f"{a}@{b}.org",
        st.text(string.ascii_letters, min_size=1, max_size=8),
        st.text(string.ascii_lowercase, min_size=1, max_size=8),
    ),
    text.map(lambda t: f"a{t}@example.org"),
    text,
)
wrong = st.one_of(st.none(), st.integers(), st.binary(max_size=5), st.floats(allow_nan=True),
                  st.just({"a": 1}), st.just(["x", 1]))  # fmt: skip


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, wrong)


attachment = st.builds(
    Attachment,
    filename=text,
    content=st.one_of(st.binary(max_size=64), st.just(b"\0" * 11_000_000)),
    content_type=st.one_of(st.just("text/plain"), text),
    content_id=st.one_of(st.none(), text),
)
message_fields = st.fixed_dictionaries(
    {"from_email": maybe(address), "to": maybe(st.lists(address, max_size=3))},
    optional={
        "from_name": maybe(text),
        "cc": maybe(st.lists(address, max_size=2)),
        "bcc": maybe(st.lists(address, max_size=2)),
        "reply_to": maybe(st.one_of(address, st.lists(address, max_size=5))),
        "subject": maybe(text),
        "html": maybe(text),
        "text": maybe(text),
        "attachments": maybe(st.lists(attachment, max_size=2)),
        "headers": maybe(st.dictionaries(text, maybe(text), max_size=3)),
        "tags": maybe(st.lists(text, max_size=2)),
        "metadata": maybe(st.dictionaries(text, maybe(text), max_size=2)),
        "template": maybe(text),
        "variables": maybe(st.dictionaries(text, maybe(text), max_size=2)),
        "recipient_variables": maybe(
            st.dictionaries(address, st.dictionaries(text, text, max_size=2), max_size=2)
        ),
    },
)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, SandboxServer]]:
    servers = {n: SandboxServer(n).start() for n in mailspec.available()}
    yield servers
    for s in servers.values():
        s.stop()


SENT_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "content-type",
                "content-length", "authorization", "connection"}  # fmt: skip
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LINE_FIELDS = ("subject", "from", "fromName", "to", "alias", "reply_to", "replyTo")


class Spy:
    """Keeps what each sandbox's emulator received (headers and body)."""

    def __init__(self, server: SandboxServer) -> None:
        self.seen: list[tuple[dict[str, str], bytes]] = []
        real = server.emulator.handle

        def handle(method: str, target: str, headers: Any, body: bytes) -> Any:
            self.seen.append((dict(headers), body))
            return real(method, target, headers, body)

        server.emulator.handle = handle  # type: ignore[method-assign]


@settings(COMMON, max_examples=MESSAGES)
@given(
    fields=message_fields, which=st.sampled_from(NAMES), via=st.sampled_from(["provider", "mailer"])
)
def test_any_message_is_sent_or_refused_cleanly(sandboxes, fields, which, via) -> None:
    server = sandboxes[which]
    if not hasattr(server, "_spy"):
        server._spy = Spy(server)  # type: ignore[attr-defined]
    spy: Spy = server._spy  # type: ignore[attr-defined]
    before, seen_before = server.requests, len(spy.seen)
    provider = server.provider(timeout=5)
    try:
        message = Message(**fields)
    except ValidationError:
        return  # the constructor refused a wrong type: nothing to send
    repr(message)
    sender = provider if via == "provider" else Mailer([provider], max_attempts=1)
    try:
        result = sender.send(message)
    except AllProvidersFailed as exc:  # through a Mailer: a skip or a provider answer
        assert server.requests == before, exc  # a message the client let through is valid
        repr(exc)
        return
    except (ValidationError, UnsupportedOperation):
        assert server.requests == before  # refused before any I/O
        return
    except ProviderError as exc:
        # the sandbox's own spec-driven checks may refuse what the client let through
        # only as a *provider* answer, never a crash; none expected for a valid message
        pytest.fail(f"client accepted a message the provider spec refuses: {exc}")
    repr(result)
    assert server.requests == before + 1
    for headers, body in spy.seen[seen_before:]:
        assert {h.lower() for h in headers} <= SENT_HEADERS, headers
        for name, value in headers.items():
            assert "\r" not in value and "\n" not in value, (name, value)
        ctype = headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("ascii"), keep_blank_values=True)
            values = {k: v[0] for k, v in form.items()}
        elif ctype.startswith("application/json"):
            values = {k: v for k, v in json.loads(body).items() if isinstance(v, str)}
        else:
            values = {}  # multipart: its parts carry the same checked values
        for key in LINE_FIELDS:
            if key in values:  # no control character at all reaches a one-line field
                assert not CONTROL.search(values[key]), (key, values[key])


# --- 2. response bodies ---------------------------------------------------------------------

envelope_keys = ["result", "statusCode", "statuscode", "message", "info", "code", "ok",
                 "message_id", "message_ids", "emailIdList", "voList", "error", "data"]  # fmt: skip
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=10),
        st.sampled_from([200, 0, 40005, 50000, 99999, -1]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(envelope_keys) | st.text(max_size=5), inner, max_size=5),
    ),
    max_leaves=20,
)


def _truncate(data: bytes, cut: int) -> bytes:
    return data[: max(0, len(data) - cut)]


body = st.one_of(
    st.binary(max_size=200),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.tuples(json_value, st.integers(1, 20)).map(lambda t: _truncate(json.dumps(t[0]).encode(), t[1])),
    st.sampled_from([
        b"", b"null", b"[]", b'{"statusCode": "200"}', b'{"result": true, "statusCode": 200}',
        b'{"result": true, "statusCode": 200, "info": {"emailIdList": [1, 2]}}',
        b'{"result": true, "statusCode": 200, "info": {"emailIdList": "x"}}',
        b'{"message_id": 5}', b'{"statusCode": 1e400}', b"\xff\xfe\x00",
        b'{"statusCode": 200, "info": {"voList": [{"emailId": null, "status": "x"}]}}',
        b'{"a": "' + b"x" * 3_000_000 + b'"}',
        b"[" * 100_000,
    ]),
)  # fmt: skip
STATUSES = st.sampled_from([200, 201, 204, 400, 401, 404, 429, 500, 502, 503])


@settings(COMMON, max_examples=BODIES)
@given(data=body, status=STATUSES, retry_after=st.sampled_from([None, "2", "soon", "-5", "1e9"]),
       which=st.sampled_from(NAMES),
       op=st.sampled_from(["send", "status"]))  # fmt: skip
def test_any_answer_is_a_result_or_a_provider_error(
    canned, data, status, retry_after, which, op
) -> None:
    # `canned` (conftest) is set up once for all of hypothesis's examples: each example
    # sets every part of the answer
    canned.status, canned.body = status, data
    canned.headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        canned.headers["Retry-After"] = retry_after
    spec_cred = credentials(which)
    provider = mailspec.provider(which, base_url=canned.url, timeout=5, **spec_cred)
    if template_only(which):
        message = Message(from_email="noreply@example.com", to=["ann@example.org"], template="T-1")
    else:
        message = Message(from_email="noreply@example.com", to=["ann@example.org"], subject="s",
                          html="<p>x</p>")  # fmt: skip
    try:
        if op == "send":
            result = provider.send(message)
            assert isinstance(result, mailspec.SendResult)
            assert all(isinstance(i, str) for i in result.message_ids)
        elif provider.capabilities.status:
            statuses = provider.status(["id-1"])
            assert all(isinstance(s, mailspec.DeliveryStatus) for s in statuses)
    except ProviderError as exc:
        assert exc.provider == which
        if exc.retry_after is not None:
            assert exc.retry_after >= 0
    except UnsupportedOperation:
        assert op == "status"


# --- 3. spec mutations --------------------------------------------------------------------

REF = (ROOT / "spec" / "aurorasendcloud.yaml").read_text(encoding="utf-8")
REF_DATA = yaml.safe_load(REF)
FILE = "spec/fuzz.yaml"


def _generate(text: str) -> None:
    from mailspec.codegen.context import build
    from mailspec.codegen.render import render_provider

    located = load_text(text, FILE)
    check(located)
    files = render_provider(build(located, FILE))
    assert files and all(isinstance(v, str) for v in files.values())
    for name, source in files.items():
        if name.endswith(".py"):
            compile(source, name, "exec")  # generated code is at least valid Python


def _assert_spec_error(exc: SpecError, text: str) -> None:
    assert exc.file == FILE
    lines = max(1, text.count("\n") + 1)
    assert 1 <= exc.line <= lines + 1, (exc.line, lines)
    assert str(exc).startswith(f"{FILE}:{exc.line}:")


text_edit = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(REF)), st.integers(1, 40)),
    st.tuples(
        st.just("insert"),
        st.integers(0, len(REF)),
        st.sampled_from(
            [
                ":",
                "-",
                " ",
                "\n",
                "\t",
                "{",
                "}",
                "[",
                "]",
                "'",
                '"',
                "&a",
                "*a",
                "!!python/object:os.system",
                "x: 1\n",
                "  ",
                "%",
                "\x00",
                "é",
                "99999999999999999999",
                "null",
                "~",
                "<<: *a",
            ]
        ),
    ),
    st.tuples(
        st.just("swap_lines"), st.integers(0, REF.count("\n")), st.integers(0, REF.count("\n"))
    ),
)


def _apply(text: str, edit: tuple[Any, ...]) -> str:
    kind = edit[0]
    if kind == "delete":
        return text[: edit[1]] + text[edit[1] + edit[2] :]
    if kind == "insert":
        return text[: edit[1]] + edit[2] + text[edit[1] :]
    lines = text.split("\n")
    i, j = edit[1] % len(lines), edit[2] % len(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


@settings(COMMON, max_examples=SPEC_TEXT)
@given(edits=st.lists(text_edit, min_size=1, max_size=3))
def test_any_text_mutation_of_a_spec_generates_or_fails_with_a_position(edits) -> None:
    text = REF
    for edit in edits:
        text = _apply(text, edit)
    try:
        _generate(text)
    except SpecError as exc:
        _assert_spec_error(exc, text)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = [p for p in _paths(REF_DATA) if p]
replacement = st.one_of(
    json_value,
    st.sampled_from(
        [
            "",
            "x",
            "list[str]",
            "Envelope",
            "{name}",
            "__import__('os')",
            "'''",
            '"""',
            "\\",
            "a\nb",
            -1,
            0,
            2**64,
            True,
            [],
            {},
        ]
    ),
)


@settings(COMMON, max_examples=SPEC_DATA)
@given(changes=st.lists(st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["set", "delete"]),
                                  replacement), min_size=1, max_size=3))  # fmt: skip
def test_any_data_mutation_of_a_spec_generates_or_fails_with_a_position(changes) -> None:
    data = json.loads(json.dumps(REF_DATA, default=str))
    for path, action, value in changes:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            if action == "delete":
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        _generate(text)
    except SpecError as exc:
        _assert_spec_error(exc, text)


def _bomb(levels: int) -> str:
    """Billion laughs: each line a list of nine aliases of the line before."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


DEPTHS = [1, 2, MAX_DEPTH - 8, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 100, 500, 100_000]
COUNTS = [10, 1_000, MAX_NODES // 2, MAX_NODES - 2_000, MAX_NODES, 200_000]


def _nest(depth: int, flow: bool) -> str:
    """A value nested ``depth`` levels: flow lists, or flow mappings."""
    return "[" * depth + "]" * depth if flow else "{k: " * depth + "x" + "}" * depth


hostile_insert = st.one_of(
    st.builds(_bomb, st.integers(1, 9)),
    st.sampled_from(["&a ", "*a", "&a [x]", "[*a, *a]", "<<: *a\n", "- &a x\n- *a\n"]),
    st.builds(lambda d, flow: f"x: {_nest(d, flow)}\n", st.sampled_from(DEPTHS), st.booleans()),
    st.builds(_nest, st.sampled_from(DEPTHS), st.booleans()),
    st.builds(lambda n: "x: [" + ",".join(["1"] * n) + "]\n", st.sampled_from(COUNTS)),
    st.builds(
        lambda n: "".join(
            f"  {90000 + i}: {{message: M, category: validation}}\n" for i in range(n)
        ),
        st.sampled_from(COUNTS),
    ),
    st.builds(
        lambda n: "# " + "x" * n + "\n", st.sampled_from([10, MAX_BYTES - len(REF), MAX_BYTES])
    ),
)
hostile_edit = st.tuples(
    st.just("insert"),
    st.sampled_from([0, len(REF)])
    | st.sampled_from([i + 1 for i, c in enumerate(REF) if c == "\n"])
    | st.integers(0, len(REF)),
    hostile_insert,
)


@settings(COMMON, max_examples=SPEC_HOSTILE)
@given(edits=st.lists(hostile_edit, min_size=1, max_size=2))
def test_an_exhausting_mutation_of_a_spec_fails_quickly_with_a_position(edits) -> None:
    text = REF
    for edit in edits:
        text = _apply(text, edit)
    elapsed = _generate_timed(text)
    if elapsed >= SPEC_SECONDS:  # once more, so a busy machine's pause is not a failure
        elapsed = min(elapsed, _generate_timed(text))
    assert elapsed < SPEC_SECONDS, f"{elapsed:.2f} s for {len(text)} characters"


def _generate_timed(text: str) -> float:
    """Generate ``text`` or check its SpecError; the seconds it took."""
    started = time.perf_counter()
    try:
        _generate(text)
        event("generated")
    except SpecError as exc:
        _assert_spec_error(exc, text)
        event(re.sub(r"[0-9]+", "N", exc.message)[:40])  # --hypothesis-show-statistics
    return time.perf_counter() - started


def test_the_unmutated_reference_spec_generates() -> None:
    _generate(REF)  # so the mutations above start from something valid
