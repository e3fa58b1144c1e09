"""What SES's nested JSON needs beyond wire paths, on small specs generated in the test:
a constant ``beside`` a parameter goes only where that one has a value (a part's
``Charset`` beside its ``Data``), a ``json`` parameter in a JSON body is a JSON string,
a list entry of ``{Name, Value}`` pairs is one pair per item, two operations on one path
are told apart by the sandbox by their bodies, and a spec may require a region.

Real HTTP on 127.0.0.1 (pytest-httpserver records the request, the sandbox driven by
the same spec takes it back or refuses another form); nothing of mailspec is mocked.
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
from mailspec import Message, registry
from mailspec.sandbox import SandboxServer

MESSAGE: dict[str, Any] = {
    "from_email": "shop@example.com",
    "to": ["ann@example.org"],
    "subject": "Hi",
    "html": "<p>x</p>",
}
PARAMS = """
from_email: {wire: From, type: str, required: true}
to: {wire: Destination.To, type: "list[str]", required: true}
subject: {wire: Content.Subject.Data, type: str, required: true}
subject_charset: {wire: Content.Subject.Charset, type: str, const: UTF-8, beside: subject}
html: {wire: Content.Body.Html.Data, type: str}
html_charset: {wire: Content.Body.Html.Charset, type: str, const: UTF-8, beside: html}
text: {wire: Content.Body.Text.Data, type: str}
text_charset: {wire: Content.Body.Text.Charset, type: str, const: UTF-8, beside: text}
headers: {wire: Content.Headers, type: object, pairs: {key: Name, value: Value}}
attachments:
  wire: Content.Attachments
  type: files
  keys: {filename: FileName, content: RawContent, content_type: ContentType,
         content_id: ContentId, inline: {ContentDisposition: INLINE}}
"""
ROWS = """
from_email: from_email
to: to
subject: subject
html: html
text: text
headers: headers
attachments: attachments
tags: headers.X-Tag
metadata: headers.X-Metadata
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


def sent_json(name: str, httpserver: HTTPServer, recorded: list[Request], **fields: Any) -> Any:
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    provider.send(Message(**{**MESSAGE, **fields}))
    return json.loads(recorded[-1].get_data())


def post_raw(server: SandboxServer, body: Any) -> Any:
    headers = {
        "Authorization": f"Bearer {server.credentials['api_key']}",
        "Content-Type": "application/json",
    }
    return urllib3.request(
        "POST", server.base_url + "send", body=json.dumps(body).encode(), headers=headers
    )


GOOD = {
    "From": "s@example.com",
    "Destination": {"To": ["a@example.org"]},
    "Content": {"Subject": {"Data": "s", "Charset": "UTF-8"}},
}


def test_dotted_wire_names_write_nested_objects_with_constants_beside_their_values(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    body = sent_json(name, httpserver, recorded)
    assert body == {
        "From": "shop@example.com",
        "Destination": {"To": ["ann@example.org"]},
        "Content": {
            "Subject": {"Data": "Hi", "Charset": "UTF-8"},
            # no text: no Text object, not even its Charset
            "Body": {"Html": {"Data": "<p>x</p>", "Charset": "UTF-8"}},
        },
    }
    with SandboxServer(name) as server:
        server.provider().send(Message(**{**MESSAGE, "text": "x"}))
        assert server.accepted[0].params["text"] == "x"
        assert server.accepted[0].params["subject"] == "Hi"
        assert post_raw(server, GOOD).status == 200
        # an unknown key inside a nested object is refused, with its dotted name
        nested = {**GOOD, "Content": {**GOOD["Content"], "Bogus": 1}}
        answer = post_raw(server, nested)
        assert answer.status == 400
        assert "'Content.Bogus'" in json.loads(answer.data)["message"]
        # a value where the spec nests objects is refused too
        assert post_raw(server, {**GOOD, "Destination": "a@example.org"}).status == 400
        wrong = {**GOOD, "Content": {"Subject": {"Data": "s", "Charset": "latin-1"}}}
        assert post_raw(server, wrong).status == 400


def test_tags_are_one_pair_each_and_metadata_one_json_text(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    body = sent_json(
        name,
        httpserver,
        recorded,
        headers={"X-Order": "7"},
        tags=["welcome", "eu"],
        metadata={"user_id": "42"},
    )
    assert body["Content"]["Headers"] == [
        {"Name": "X-Order", "Value": "7"},
        {"Name": "X-Tag", "Value": "welcome"},
        {"Name": "X-Tag", "Value": "eu"},
        {"Name": "X-Metadata", "Value": '{"user_id":"42"}'},
    ]
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, tags=["a", "b"]))
        assert server.accepted[0].params["headers"] == {"X-Tag": ["a", "b"]}
    # a message header of the same name (any case) is refused, not overwritten
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(mailspec.ValidationError, match="X-Tag"):
        provider.send(Message(**MESSAGE, tags=["a"], headers={"x-tag": "b"}))


def test_a_json_parameter_in_a_json_body_is_a_json_string(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = PARAMS + "data: {wire: Content.Template.Data, type: json}\n"
    params += "template: {wire: Content.Template.Name, type: str}\n"
    rows = ROWS + "template: template\nvariables: data\n"
    name = register_spec(root, mini_spec(params, rows))
    body = sent_json(
        name, httpserver, recorded, html=None, template="T1", variables={"name": "Ann"}
    )
    assert body["Content"]["Template"] == {"Name": "T1", "Data": '{"name":"Ann"}'}
    with SandboxServer(name) as server:
        as_object = {**GOOD, "Content": {**GOOD["Content"], "Template": {"Data": {"a": "b"}}}}
        assert post_raw(server, as_object).status == 400
        as_text = {**GOOD, "Content": {**GOOD["Content"], "Template": {"Data": '{"a":"b"}'}}}
        assert post_raw(server, as_text).status == 200


def test_the_sandbox_tells_two_operations_on_one_path_apart_by_their_bodies(
    root: Path,
) -> None:
    template = """
        send_template:
          summary: Send a stored template.
          method: POST
          path: send
          encoding: json
          response: SendResponse
          ids: message_id
          params:
            from_email: {wire: From, type: str, required: true}
            to: {wire: Destination.To, type: "list[str]", required: true}
            template: {wire: Content.Template.Name, type: str, required: true}
    """
    text = mini_spec(PARAMS, ROWS, operation=template)
    rows = "  send_template:\n    from_email: from_email\n    to: to\n    template: template\n"
    text = text.replace("\ncodes:\n", "\n" + rows + "codes:\n", 1)
    name = register_spec(root, text)
    with SandboxServer(name) as server:
        provider = server.provider()
        provider.send(Message(**MESSAGE))
        provider.send(Message(from_email="s@example.com", to=["b@example.org"], template="T1"))
        assert [a.operation for a in server.accepted] == ["send", "send_template"]
        assert server.accepted[1].params["template"] == "T1"
        # a body neither operation reads is refused
        answer = post_raw(server, {**GOOD, "Content": {"Other": {}}})
        assert answer.status == 400


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            PARAMS + "c: {type: str, const: x, beside: nowhere}",
            "beside names another parameter of the operation, for a constant only",
        ),
        (
            PARAMS + "c: {type: str, beside: subject}",
            "beside names another parameter of the operation, for a constant only",
        ),
    ],
)
def test_spec_check_refuses_beside_where_it_means_nothing(
    root: Path, params: str, problem: str
) -> None:
    assert problem in spec_error(root, mini_spec(params, ROWS))


def test_a_spec_may_require_a_region(root: Path) -> None:
    text = mini_spec(PARAMS, ROWS).replace(
        "default_region: default\n", "default_region: default\nregion_required: true\n"
    )
    name = register_spec(root, text)
    with pytest.raises(mailspec.ValidationError, match="needs a region") as refused:
        mailspec.provider(name, api_key="k")
    assert refused.value.field == "region"
    assert mailspec.provider(name, api_key="k", region="default").name == name
    # a base URL (the sandbox, a test server) serves without one
    assert mailspec.provider(name, api_key="k", base_url="http://127.0.0.1:9/").name == name
