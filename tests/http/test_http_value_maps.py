"""Value maps (``values``): a Message field's value becomes the provider's word for it
(``track_clicks=True`` is ``TrackLinks: HtmlAndText``), False included where the map
names a word for it; a value with no word is a ValidationError before any I/O; ``spec
check`` refuses maps that cannot hold; the sandbox takes only the map's words.

Real HTTP on 127.0.0.1 (pytest-httpserver records every request; the sandbox driven by
the same spec); nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Message, ValidationError, registry
from mailspec.sandbox import Sandbox

PARAMS = """
to: {type: str, required: true}
from_email: {wire: from, type: str, required: true}
subject: {type: str, required: true}
html: {type: str}
opens: {wire: TrackOpens, type: bool}
links: {wire: TrackLinks, type: str, values: {true: HtmlAndText, false: None}}
"""
ROWS = """
to: to
from_email: from_email
subject: subject
html: html
track_opens: opens
track_clicks: links
"""
MESSAGE: dict[str, Any] = {
    "from_email": "shop@example.com",
    "to": ["ann@example.org"],
    "subject": "Hi",
    "html": "<p>Hi</p>",
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def sent_bodies(httpserver: HTTPServer, root: Path, *messages: Message) -> list[Any]:
    bodies: list[Any] = []

    def answer(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response('{"message_id": "m1"}', 200, content_type="application/json")

    httpserver.expect_request("/send", method="POST").respond_with_handler(answer)
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    sender = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    for message in messages:
        sender.send(message)
    return bodies


def test_a_value_map_sends_the_providers_word(root: Path, httpserver: HTTPServer) -> None:
    bodies = sent_bodies(
        httpserver,
        root,
        Message(**MESSAGE, track_opens=True, track_clicks=True),
        Message(**MESSAGE, track_clicks=False),
        Message(**MESSAGE),
    )
    assert (bodies[0]["TrackOpens"], bodies[0]["TrackLinks"]) == (True, "HtmlAndText")
    # False has a word in the map: sent; a plain bool's False asks for nothing
    assert bodies[1]["TrackLinks"] == "None" and "TrackOpens" not in bodies[1]
    assert "TrackLinks" not in bodies[2] and "TrackOpens" not in bodies[2]


def test_a_value_without_a_word_is_refused_before_any_request(
    root: Path, httpserver: HTTPServer
) -> None:
    only_false = PARAMS.replace("true: HtmlAndText, false: None", "false: None")
    sender = mailspec.provider(
        register_spec(root, mini_spec(only_false, ROWS)),
        api_key="k",
        base_url=httpserver.url_for("/"),
    )
    with pytest.raises(ValidationError) as info:
        sender.send(Message(**MESSAGE, track_clicks=True))
    assert info.value.field == "track_clicks" and "has no value for True" in str(info.value)
    assert len(httpserver.log) == 0


@pytest.mark.parametrize(
    ("param", "says"),
    [
        ("{type: object, values: {true: x}}", "str, int or bool"),
        ("{type: str, values: {true: 1}}", "every word of values is a str"),
        ("{type: str, enum: [a, b], values: {true: c}}", "one of the enum"),
    ],
)
def test_impossible_value_maps_are_refused(root: Path, param: str, says: str) -> None:
    links = "{wire: TrackLinks, type: str, values: {true: HtmlAndText, false: None}}"
    text = mini_spec(PARAMS.replace(links, param), ROWS)
    assert says in spec_error(root, text)


def test_a_value_map_no_mapping_row_names_is_refused(root: Path) -> None:
    text = mini_spec(PARAMS, ROWS.replace("track_clicks: links\n", ""))
    assert "a mapping row names it" in spec_error(root, text)


def test_the_sandbox_takes_only_the_maps_words(root: Path) -> None:
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    with Sandbox([name]) as sandbox:
        server = sandbox[name]
        assert server.provider().send(Message(**MESSAGE, track_clicks=True)).message_ids
        assert server.accepted[0].params["links"] == "HtmlAndText"
        body = {
            "to": "ann@example.org",
            "from": "shop@example.com",
            "subject": "Hi",
            "html": "x",
            "TrackLinks": "Sometimes",
        }
        answer = urllib3.request(
            "POST",
            server.base_url.rstrip("/") + "/send",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {server.credentials['api_key']}",
            },
        )
        assert answer.status == 400 and b"HtmlAndText" in answer.data
        assert len(server.accepted) == 1
