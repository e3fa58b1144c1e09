"""Wire paths, address objects and inline marks: a JSON parameter's ``wire`` may place
its value inside nested objects and lists (``envelopes[0].to``,
``parts[kind=text].body``), a mailbox parameter may be written as ``{email, name}``
objects, and an inline attachment may carry constant keys of its own; ``spec check``
refuses what cannot be written; the sandbox reads the same places back and refuses
anything else there.

Real HTTP on 127.0.0.1 (pytest-httpserver, and the sandbox driven by the same spec);
nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Attachment, Message, registry
from mailspec.sandbox import Sandbox
from mailspec.wire_paths import get, leftover, put

PARAMS = """
from_email: {wire: sender, type: str, required: true, format: mailbox, address: {email: addr, name: label}}
to: {wire: "envelopes[0].to", type: "list[str]", required: true, format: mailbox, address: {}}
cc: {wire: "envelopes[0].cc", type: "list[str]", format: mailbox, address: {}}
subject: {type: str}
text: {wire: "parts[kind=text].body", type: str}
html: {wire: "parts[kind=html].body", type: str}
files: {type: files, keys: {content_type: mime, inline: {placement: inline}}}
when: {type: int}
opens: {wire: settings.opens.on, type: bool}
"""
ROWS = """
from_email: from_email
from_name: from_email
to: to
cc: cc
subject: subject
text: text
html: html
attachments: files
send_at: when
track_opens: opens
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def test_put_get_and_leftover_walk_the_same_places() -> None:
    document: dict[str, Any] = {}
    put(document, "envelopes[0].to", ["a"])
    put(document, "parts[kind=text].body", "t")
    put(document, "parts[kind=html].body", "h")
    put(document, "settings.opens.on", True)
    assert document == {
        "envelopes": [{"to": ["a"]}],
        "parts": [{"kind": "text", "body": "t"}, {"kind": "html", "body": "h"}],
        "settings": {"opens": {"on": True}},
    }
    wires = ["envelopes[0].to", "parts[kind=text].body", "parts[kind=html].body"]
    assert get(document, "parts[kind=html].body") == "h"
    assert leftover(document, [*wires, "settings.opens.on"]) == []
    document["parts"].append({"kind": "amp", "body": "x"})
    document["envelopes"][0]["bcc"] = ["b"]
    assert leftover(document, [*wires, "settings"]) == ["envelopes[0].bcc", "parts[2]"]


def test_nested_places_address_objects_and_inline_marks(root: Path, httpserver: HTTPServer) -> None:
    bodies: list[Any] = []

    def answer(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response('{"message_id": "m1"}', 200, content_type="application/json")

    httpserver.expect_request("/send", method="POST").respond_with_handler(answer)
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    sender = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    when = datetime(2026, 12, 7, tzinfo=UTC)
    sender.send(
        Message(
            from_email='"Zoë, Shop" <shop@example.com>',
            to=["Ann <ann@example.org>", "bob@example.org"],
            subject="Hi",
            html="<p>Hi</p>",
            text="Hi",
            attachments=[Attachment("l.png", b"P", "image/png", "logo")],
            send_at=when,
            track_opens=True,
        )
    )
    assert bodies == [
        {
            "sender": {"addr": "shop@example.com", "label": "Zoë, Shop"},
            "envelopes": [
                {"to": [{"email": "ann@example.org", "name": "Ann"}, {"email": "bob@example.org"}]}
            ],
            "subject": "Hi",
            # declared text first, so written first
            "parts": [{"kind": "text", "body": "Hi"}, {"kind": "html", "body": "<p>Hi</p>"}],
            "files": [
                {
                    "filename": "l.png",
                    "content": "UA==",
                    "mime": "image/png",
                    "content_id": "logo",
                    "placement": "inline",
                }
            ],
            "when": int(when.timestamp()),
            "settings": {"opens": {"on": True}},
        }
    ]


def test_the_sandbox_reads_the_places_and_refuses_anything_else(root: Path) -> None:
    name = register_spec(root, mini_spec(PARAMS, ROWS))
    good = {
        "sender": {"addr": "shop@example.com"},
        "envelopes": [{"to": [{"email": "ann@example.org", "name": "Ann"}]}],
        "parts": [{"kind": "text", "body": "Hi"}],
    }
    with Sandbox([name]) as sandbox:
        server = sandbox[name]
        assert (
            server.provider()
            .send(
                Message(from_email="s@example.com", to=["a@x.org"], text="t", cc=["Cy <c@x.org>"])
            )
            .message_ids
        )
        params = server.accepted[0].params
        assert (params["to"], params["cc"], params["text"]) == (["a@x.org"], ["Cy <c@x.org>"], "t")

        def post(document: Any) -> int:
            return urllib3.request(
                "POST",
                server.base_url.rstrip("/") + "/send",
                body=json.dumps(document).encode(),
                headers={
                    "Authorization": f"Bearer {server.credentials['api_key']}",
                    "Content-Type": "application/json",
                },
            ).status

        assert post(good) == 200
        assert post({**good, "sender": "shop@example.com"}) == 400  # text, not an object
        assert post({**good, "envelopes": [{"to": [{"email": "a@x.org"}], "bcc": []}]}) == 400
        assert post({**good, "parts": [{"kind": "amp", "body": "x"}]}) == 400
        inline = [{"filename": "l", "content": "UA==", "mime": "image/png", "content_id": "c"}]
        assert post({**good, "files": inline}) == 400  # an inline part without its mark
        assert post({**good, "files": [{**inline[0], "placement": "inline"}]}) == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('to: {wire: "a..b", type: str, required: true}', "not a wire path"),
        ('to: {wire: "a[x].b", type: str, required: true}', "not a wire path"),
        ("to: {type: str, required: true, address: {}}", "address objects"),
        (
            'to: {type: "list[str]", format: mailbox, join: ",", required: true, address: {}}',
            "address objects",
        ),
    ],
)
def test_spec_check_refuses_what_cannot_be_written(root: Path, params: str, message: str) -> None:
    assert message in spec_error(root, mini_spec(params, "to: to"))


def test_a_path_needs_a_json_body(root: Path) -> None:
    text = mini_spec('to: {wire: "a.b", type: str, required: true}', "to: to", encoding="form")
    assert "a wire path places a value inside a JSON body" in spec_error(root, text)


def test_an_envelope_message_inside_a_list_is_read_and_written(
    root: Path, httpserver: HTTPServer
) -> None:
    text = mini_spec(
        "to: {type: str, required: true}\nfrom_email: {type: str}\nhtml: {type: str}",
        "to: to\nfrom_email: from_email\nhtml: html",
        envelope='code_from: http\n  message: {wire: "errors[0].message"}',
    )
    name = register_spec(root, text)
    body = {"errors": [{"field": "to", "message": "to is not valid"}, {"message": "later"}]}
    httpserver.expect_request("/send").respond_with_json(body, status=400)
    sender = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(mailspec.ProviderValidationError, match="to is not valid"):
        sender.send(Message(from_email="s@example.com", to=["a@x.org"], html="h"))
    with Sandbox([name]) as sandbox:
        server = sandbox[name]
        answer = urllib3.request(
            "POST",
            server.base_url.rstrip("/") + "/send",
            body=b'{"to": 7}',
            headers={
                "Authorization": f"Bearer {server.credentials['api_key']}",
                "Content-Type": "application/json",
            },
        )
        assert answer.status == 400
        assert json.loads(answer.data)["errors"][0]["message"]


def test_only_the_envelope_message_may_be_a_path(root: Path) -> None:
    text = mini_spec(
        "to: {type: str, required: true}",
        "to: to",
        envelope='code_from: body\n  code: {wire: "errors[0].code"}',
    )
    assert "only the message may be a path" in spec_error(root, text)
