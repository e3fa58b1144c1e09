"""Each request is checked against its operation's spec exactly once, before any I/O,
by the client's ``prepare`` (where a message takes several requests, every one is
prepared before the first is sent); and a client called directly still checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from providers_support import message, requests
from werkzeug import Request, Response

from mailspec import ValidationError
from mailspec.checks.request import check_request
from mailspec.runtime import client


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every check_request call, as (operation path, its ``to`` value), in order."""
    seen: list[tuple[str, Any]] = []

    def counting(provider: str, operation: Any, values: Any) -> None:
        seen.append((operation.path, values.get("to")))
        check_request(provider, operation, values)

    monkeypatch.setattr(client, "check_request", counting)  # the one place that checks
    return seen


def test_sendcloud_checks_its_one_request_once(httpserver, sendcloud, checked):
    httpserver.expect_request("/apiv2/mail/send", method="POST").respond_with_json(
        {"result": True, "statusCode": 200, "message": "ok", "info": {"emailIdList": ["e1"]}}
    )
    sendcloud.send(message(to=["ann@example.org", "bob@example.org"]))
    assert checked == [("mail/send", ["ann@example.org", "bob@example.org"])]


def test_aotsend_checks_every_recipient_once_before_the_first_request(httpserver, aotsend, checked):
    seen_at_first_request: list[int] = []

    def answer(request: Request) -> Response:
        seen_at_first_request.append(len(checked))
        return Response(json.dumps({"code": 200, "message": "ok"}), mimetype="application/json")

    httpserver.expect_request("/index/api/send_email", method="POST").respond_with_handler(answer)
    to = ["ann@example.org", "bob@example.org"]
    aotsend.send(message(to=to, subject=None, html=None, template="tpl-1"))
    path = "index/api/send_email"
    assert checked == [(path, to[0]), (path, to[1])]
    assert seen_at_first_request == [2, 2]  # both checked before the first went out
    assert [r.form["to"] for r in requests(httpserver)] == to


def test_cloudmails_checks_each_copy_once_and_the_batch_once(httpserver, cloudmails, checked):
    httpserver.expect_request("/v1/send", method="POST").respond_with_json(
        {"message_id": "m1"}, status=202
    )
    httpserver.expect_request("/v1/send/batch", method="POST").respond_with_json(
        {"message_ids": ["m2", "m3"]}, status=202
    )
    cloudmails.send(message())
    assert checked == [("/send", "ann@example.org")]
    checked.clear()
    cloudmails.send(message(to=["ann@example.org", "bob@example.org"]))
    assert checked == [
        ("/send", "ann@example.org"),
        ("/send", "bob@example.org"),
        ("/send/batch", None),
    ]


def test_a_client_called_directly_still_checks(httpserver, aotsend, checked):
    httpserver.expect_request("/index/api/send_email", method="POST").respond_with_json(
        {"code": 200, "message": "ok"}
    )
    aotsend.send(message(subject=None, html=None, template="tpl-1"))  # skips the client's
    request = aotsend.client.request_types["send"](template_id="tpl-1", to="not an address")
    with pytest.raises(ValidationError) as info:
        aotsend.client.send(request)
    assert info.value.field == "to"
    assert len(httpserver.log) == 1
