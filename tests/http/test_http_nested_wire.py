"""Two spec-language pieces, on small specs generated in the test (the SparkPost spec
uses them; nothing here is SparkPost's): `recipients` writes to, cc and bcc as objects
of one list (beside main's wire paths), with the To header they are shown and a cc
header; a `*` step in a payload path reads whatever key wraps an event. The exact request (pytest-httpserver), the sandbox taking it back and refusing
other forms, and what `spec check` refuses.

Real HTTP on 127.0.0.1; nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Message, ValidationError, registry
from mailspec.sandbox import SandboxServer
from mailspec.spec_paths import PathError, parse_path, read_path, write_path

MESSAGE: dict[str, Any] = {
    "from_email": "shop@example.com",
    "to": ["ann@example.org"],
    "subject": "Hi",
    "html": "<p>x</p>",
}
NESTED = """\
from_email: {wire: content.from, type: str, required: true, format: mailbox}
subject: {wire: content.subject, type: str, required: true}
html: {wire: content.html, type: str}
headers: {wire: content.headers, type: object}
click: {wire: options.tracking.click, type: bool, values: {true: true, false: false}}
to:
  wire: recipients
  type: "list[object]"
  required: true
  recipients: {email: address.email, header_to: address.header_to, cc_header: Cc}
"""
ROWS = """\
from_email: from_email
from_name: from_email
subject: subject
html: html
headers: headers
track_clicks: click
to: to
cc: to
bcc: to
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


@pytest.fixture
def recorded(httpserver: HTTPServer) -> Iterator[list[Request]]:
    got: list[Request] = []

    def answer(request: Request) -> Response:
        got.append(request)
        return Response(json.dumps({"message_id": "m-1"}), 200, content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    yield got


def test_dotted_wire_names_nest_and_recipients_are_objects(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    name = register_spec(root, mini_spec(NESTED, ROWS))
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    provider.send(
        Message(
            **{**MESSAGE, "to": ["Ann Lee <ann@example.org>", "bob@example.org"]},
            from_name="Shop",
            cc=["Cy <cy@example.org>"],
            bcc=["eve@example.org"],
            headers={"X-A.B": "1"},  # a dot in a header name stays in the name
            track_clicks=False,
            provider_options={name: {"extra": 1}},
        )
    )
    shown = "Ann Lee <ann@example.org>, bob@example.org"
    assert json.loads(recorded[-1].get_data()) == {
        "content": {
            "from": "Shop <shop@example.com>",
            "subject": "Hi",
            "html": "<p>x</p>",
            "headers": {"X-A.B": "1", "Cc": "Cy <cy@example.org>"},
        },
        "options": {"tracking": {"click": False}},
        "recipients": [
            {"address": {"email": e, "header_to": shown}}
            for e in ("ann@example.org", "bob@example.org", "cy@example.org", "eve@example.org")
        ],
        "extra": 1,
    }


def test_a_cc_header_the_message_sets_itself_is_refused(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    name = register_spec(root, mini_spec(NESTED, ROWS))
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(ValidationError):
        provider.send(Message(**MESSAGE, cc=["cy@example.org"], headers={"CC": "x@example.org"}))
    assert recorded == []


def test_names_go_in_a_name_key_without_header_to(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = NESTED.replace(
        "recipients: {email: address.email, header_to: address.header_to, cc_header: Cc}",
        "recipients: {email: email, name: name}",
    )
    rows = ROWS.replace("headers: headers\n", "")
    name = register_spec(root, mini_spec(params.replace("headers: {wire", "hdrs: {wire"), rows))
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    provider.send(Message(**{**MESSAGE, "to": ["Ann <ann@example.org>", "bob@example.org"]}))
    assert json.loads(recorded[-1].get_data())["recipients"] == [
        {"email": "ann@example.org", "name": "Ann"},
        {"email": "bob@example.org"},
    ]


def _post(server: SandboxServer, doc: Any) -> Any:
    headers = {
        "Authorization": f"Bearer {server.credentials['api_key']}",
        "Content-Type": "application/json",
    }
    return urllib3.request("POST", server.base_url + "send", body=json.dumps(doc), headers=headers)


def test_the_sandbox_reads_nested_objects_and_recipient_objects_back(root: Path) -> None:
    name = register_spec(root, mini_spec(NESTED, ROWS))
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, cc=["cy@example.org"]))
        assert [a.recipient for a in server.accepted] == ["ann@example.org", "cy@example.org"]
        # one id names the whole request
        assert len({a.message_id for a in server.accepted}) == 1
        good = {
            "content": {"from": "s@example.com", "subject": "s"},
            "recipients": [{"address": {"email": "a@example.org"}}],
        }
        assert _post(server, good).status == 200
        refused = [
            {**good, "content": {**good["content"], "x": 1}},  # a key no parameter declares
            {**good, "content": "s"},  # not an object
            {**good, "recipients": ["a@example.org"]},  # strings, not objects
            {**good, "recipients": [{"address": {"email": "a@example.org", "n": 1}}]},
            {**good, "recipients": [{"address": {"email": "not an address"}}]},
            {**good, "recipients": []},
        ]
        for doc in refused:
            answer = _post(server, doc)
            assert answer.status == 400, doc


@pytest.mark.parametrize(
    ("params", "rows", "expected"),
    [
        (
            NESTED.replace('type: "list[object]"', 'type: "list[str]"'),
            ROWS,
            "a list[object] of a JSON body",
        ),
        (NESTED, ROWS.replace("headers: headers\n", ""), "add that row"),
    ],
)
def test_spec_check_refuses_what_cannot_be_written(
    root: Path, params: str, rows: str, expected: str
) -> None:
    assert expected in spec_error(root, mini_spec(params, rows))


def test_a_star_step_reads_any_wrapper_and_writes_into_the_one_there() -> None:
    steps = parse_path("msys.*.type")
    assert steps == ("msys", "*", "type")
    assert read_path({"msys": {"track_event": {"type": "click"}}}, steps) == "click"
    assert read_path({"msys": {"a": {}, "b": {"type": "open"}}}, steps) == "open"
    assert read_path({"msys": {"a": 1}}, steps) is None
    assert read_path({"msys": "text-not-json"}, parse_path("other")) is None
    event: dict[str, Any] = {}
    write_path(event, parse_path("msys.gen_event.transmission_id"), "t1")
    write_path(event, steps, "generation_failure")
    assert event == {"msys": {"gen_event": {"transmission_id": "t1", "type": "generation_failure"}}}
    with pytest.raises(PathError):
        write_path({}, steps, "x")
