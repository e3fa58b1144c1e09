"""Three small wire forms, on any spec: a parameter sent as a request header
(``location: header``: Resend's ``Idempotency-Key``), an object of text values
(``text_entries``: headers as a JSON object, whose tag and metadata entries are JSON
text), and message ids read through a list in the answer (``ids: data.id`` of
``{"data": [{"id": ...}]}``).

Real HTTP on 127.0.0.1 (pytest-httpserver, and the sandbox driven by the same spec);
nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import urllib3
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Message, ValidationError, registry
from mailspec.sandbox import Sandbox

PARAMS = """
to: {type: "list[str]", required: true}
from_email: {wire: from, type: str, required: true}
subject: {type: str, required: true}
html: {type: str}
headers: {type: object, text_entries: true}
key: {wire: Idempotency-Key, type: str, location: header, max_length: 256}
"""
ROWS = """
to: to
from_email: from_email
subject: subject
html: html
headers: headers
tags: headers.X-Tags
metadata: headers.X-Metadata
idempotency_key: key
"""
CAPABILITIES = "attachments: true\n  cc_bcc: true\n  idempotency_window: 3600"
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


def spec(**changes: str) -> str:
    return mini_spec(changes.get("params", PARAMS), ROWS, capabilities=CAPABILITIES)


def test_a_header_parameter_goes_as_a_header_and_not_in_the_body(root, httpserver):
    httpserver.expect_request("/send", method="POST").respond_with_json({"message_id": "m1"})
    sender = mailspec.provider(
        register_spec(root, spec()), api_key="k", base_url=httpserver.url_for("/")
    )
    sender.send(Message(**MESSAGE, idempotency_key="order-7"))
    sender.send(Message(**MESSAGE))
    (first, _), (second, _) = httpserver.log
    assert first.headers["Idempotency-Key"] == "order-7"
    assert "Idempotency-Key" not in json.loads(first.get_data())
    assert "Idempotency-Key" not in second.headers


def test_text_entries_hold_tags_and_metadata_as_json_text(root, httpserver):
    httpserver.expect_request("/send", method="POST").respond_with_json({"message_id": "m1"})
    sender = mailspec.provider(
        register_spec(root, spec()), api_key="k", base_url=httpserver.url_for("/")
    )
    sender.send(Message(**MESSAGE, headers={"X-Order": "7"}, tags=["a", "b"], metadata={"n": "1"}))
    ((request, _),) = httpserver.log
    assert json.loads(request.get_data())["headers"] == {
        "X-Order": "7",
        "X-Tags": '["a","b"]',
        "X-Metadata": '{"n":"1"}',
    }


def test_a_header_named_like_an_entry_is_refused_whatever_its_case(root, httpserver):
    sender = mailspec.provider(
        register_spec(root, spec()), api_key="k", base_url=httpserver.url_for("/")
    )
    with pytest.raises(ValidationError, match="X-Metadata"):
        sender.send(Message(**MESSAGE, headers={"x-metadata": "{}"}, metadata={"n": "1"}))
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("param", "says"),
    [
        ("key: {wire: K, type: object, location: header}", "a header parameter holds one"),
        ("headers: {type: str, text_entries: true}", "text_entries is for an object"),
    ],
)
def test_impossible_forms_are_refused(root, param, says):
    name = param.split(":")[0]
    lines = [line for line in PARAMS.strip().splitlines() if not line.startswith(name + ":")]
    assert says in spec_error(root, spec(params="\n".join([*lines, param])))


def test_the_sandbox_reads_the_header_and_refuses_it_in_the_body(root):
    name = register_spec(root, spec())
    with Sandbox([name]) as sandbox:
        server = sandbox[name]
        first = server.provider().send(Message(**MESSAGE, idempotency_key="k-1"))
        again = server.provider().send(Message(**MESSAGE, idempotency_key="k-1"))
        assert first.message_ids == again.message_ids  # the repeat was recognized
        assert len(server.accepted) == 1
        body = {**MESSAGE, "from": MESSAGE["from_email"], "Idempotency-Key": "k-2"}
        del body["from_email"]
        answer = urllib3.request(
            "POST",
            server.base_url.rstrip("/") + "/send",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {server.credentials['api_key']}",
            },
        )
        assert answer.status == 400 and len(server.accepted) == 1


BATCH = """
send_batch:
  summary: Send several.
  method: POST
  path: send/batch
  encoding: json
  body: emails
  response: BatchAnswer
  ids: data.email_id
  params:
    emails: {type: "list[object]", required: true, max_items: 10}
"""
SHAPES = """
  BatchAnswer:
    fields:
      data: {type: "list[BatchItem]"}
  BatchItem:
    fields:
      email_id: {wire: id, type: str}
"""


def batch_spec() -> str:
    text = mini_spec(PARAMS, ROWS, capabilities=CAPABILITIES, operation=BATCH)
    return text.replace("shapes:\n", "shapes:\n" + SHAPES.strip("\n") + "\n", 1)


def test_ids_are_read_through_a_list_of_objects(root, httpserver):
    httpserver.expect_request("/send/batch", method="POST").respond_with_json(
        {"data": [{"id": "a1"}, {"id": "b2"}]}
    )
    name = register_spec(root, batch_spec())
    client = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/")).client
    answer = client.call("send_batch", {"emails": [{"to": ["x@y.z"]}, {"to": ["w@y.z"]}]})
    from mailspec.adapters.base import at_path

    assert at_path(answer, "data.email_id") == ["a1", "b2"]
    ((request, _),) = httpserver.log
    assert json.loads(request.get_data()) == [{"to": ["x@y.z"]}, {"to": ["w@y.z"]}]


def test_a_count_may_not_go_through_a_list(root):
    text = batch_spec().replace("ids: data.email_id", "ids: data.email_id\n    count: data.n")
    text = text.replace(
        "email_id: {wire: id, type: str}", "email_id: {wire: id, type: str}\n      n: {type: int}"
    )
    assert "is a list" in spec_error(root, text)
