"""Attachment objects without a type (``keys.content_type: null``), object parameters
whose entries are text (``text_entries``), an int parameter taking a template number written as text, and a
provider's own "seconds to wait" header (``limits.retry_after_header``): what goes out,
what ``spec check`` refuses, what the sandbox takes and refuses.

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
from mailspec import Attachment, Message, RateLimitError, ValidationError, registry
from mailspec.sandbox import SandboxServer

PARAMS = """
sender: {type: str, format: mailbox, address: {email: email, name: name}}
to: {type: "list[str]", required: true, format: mailbox, address: {email: email, name: name}}
reply_to: {wire: replyTo, type: str, format: mailbox, address: {email: address, name: label}}
subject: {type: str}
html: {type: str}
headers: {type: object, text_entries: true}
attachment: {type: files, keys: {filename: name, content: content, content_type: null}}
template_id: {wire: templateId, type: int}
params: {type: object}
"""
ROWS = """
from_email: sender
from_name: sender
to: to
reply_to: reply_to
subject: subject
html: html
headers: headers
metadata: headers.X-Meta
attachments: attachment
template: template_id
variables: params
"""
LIMITS = "limits: {retry_after_header: x-wait-seconds}\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


@pytest.fixture
def name(root: Path) -> str:
    text = mini_spec(PARAMS, ROWS).replace("\ncapabilities:", "\n" + LIMITS + "capabilities:", 1)
    return register_spec(root, text)


def sent(httpserver: HTTPServer, name: str, message: Message) -> Any:
    bodies: list[Any] = []

    def answer(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response('{"message_id": "m1"}', 200, content_type="application/json")

    httpserver.expect_request("/send", method="POST").respond_with_handler(answer)
    mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/")).send(message)
    (body,) = bodies
    return body


def test_text_entries_attachments_without_a_type_and_a_template_number(
    httpserver: HTTPServer, name: str
) -> None:
    body = sent(
        httpserver,
        name,
        Message(
            from_email="shop@example.com",
            to=["ann@example.org"],
            headers={"X-Order": "7"},
            metadata={"order": "7", "n": "1"},
            attachments=[Attachment("a.pdf", b"%PDF-1.4", "application/pdf")],
            template="42",
            variables={"name": "Ann"},
        ),
    )
    assert body["headers"] == {"X-Order": "7", "X-Meta": '{"order":"7","n":"1"}'}
    assert body["attachment"] == [{"name": "a.pdf", "content": "JVBERi0xLjQ="}]
    assert body["templateId"] == 42 and body["params"] == {"name": "Ann"}


def test_a_header_named_like_a_text_entry_is_refused_whatever_its_case(
    httpserver: HTTPServer, name: str
) -> None:
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    message = Message(
        from_email="shop@example.com",
        to=["ann@example.org"],
        html="x",
        headers={"x-meta": "mine"},
        metadata={"a": "1"},
    )
    with pytest.raises(ValidationError, match="X-Meta"):
        provider.send(message)
    assert httpserver.log == []


def test_a_template_name_that_is_not_a_number_is_refused_before_io(
    httpserver: HTTPServer, name: str
) -> None:
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    message = Message(from_email="shop@example.com", to=["ann@example.org"], template="welcome")
    with pytest.raises(ValidationError, match="takes a number") as caught:
        provider.send(message)
    assert caught.value.field == "template"
    assert httpserver.log == []


def test_the_providers_wait_header_is_read_where_there_is_no_retry_after(
    httpserver: HTTPServer, name: str
) -> None:
    httpserver.expect_request("/send", method="POST").respond_with_json(
        {"message": "slow down"}, status=429, headers={"x-wait-seconds": "7"}
    )
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(RateLimitError) as caught:
        provider.send(Message(from_email="shop@example.com", to=["ann@example.org"], html="x"))
    assert caught.value.retry_after == 7.0


def test_the_sandbox_takes_typeless_attachments_and_refuses_other_forms(name: str) -> None:
    with SandboxServer(name) as server:
        provider = server.provider()
        provider.send(
            Message(from_email="Shop <shop@example.com>", to=["Ann <ann@example.org>"], html="x")
        )
        (row,) = server.accepted
        assert row.recipient == "ann@example.org"
        assert row.params["to"] == ["Ann <ann@example.org>"]
        http = urllib3.PoolManager()
        for wrong in (
            {"to": ["ann@example.org"]},  # a string where an object is wanted
            {"to": [{"email": "ann@example.org", "nom": "Ann"}]},  # another key
            {"to": [{"email": "ann@example.org"}], "sender": "shop@example.com"},
            {
                "to": [{"email": "ann@example.org"}],
                "attachment": [
                    {"name": "a.pdf", "content": "JVBERg==", "content_type": "application/pdf"}
                ],
            },  # a key the spec does not name
        ):
            answer = http.request(
                "POST",
                server.base_url.rstrip("/") + "/send",
                body=json.dumps({**wrong, "html": "x"}).encode(),
                headers={
                    "Authorization": "Bearer " + server.credentials["api_key"],
                    "Content-Type": "application/json",
                },
            )
            assert answer.status == 400, wrong
        assert len(server.accepted) == 1


def test_the_sandbox_names_its_wait_header_on_a_rate_limit(name: str) -> None:
    with SandboxServer(name) as server:
        server.faults.queue("rate_limit")
        with pytest.raises(RateLimitError) as caught:
            server.provider().send(
                Message(from_email="shop@example.com", to=["ann@example.org"], html="x")
            )
        assert caught.value.retry_after == 1.0


@pytest.mark.parametrize(
    ("params", "key", "why"),
    [
        (
            "to: {type: str, required: true}\nx: {type: str, text_entries: true}",
            "text_entries",
            "object parameter",
        ),
    ],
)
def test_spec_check_refuses_forms_the_runtime_cannot_write(
    root: Path, params: str, key: str, why: str
) -> None:
    error = spec_error(root, mini_spec(params, "to: to"))
    assert key in error and why in error
