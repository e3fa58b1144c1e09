"""How answers are read, each on its own small spec: a message id that travels only in
a response header (SendGrid's ``X-Message-Id``), and an error whose kind is named in a
header (SES's ``x-amzn-ErrorType``) or in the body (Resend's ``name``), so that one
HTTP status raises different errors. Real HTTP on 127.0.0.1 (pytest-httpserver and the
sandbox driven by the same spec)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import (
    Message,
    PermissionDeniedError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    registry,
)
from mailspec.sandbox import Fault, SandboxServer

MESSAGE = Message(from_email="a@example.com", to=["b@example.org"], subject="s", html="h")
PARAMS = (
    "from_email: {wire: from, type: str, required: true}\nto: {type: str, required: true}\n"
    "subject: {type: str}\nhtml: {type: str}"
)
ROWS = "from_email: from_email\nto: to\nsubject: subject\nhtml: html"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def answering(httpserver: HTTPServer, status: int, body: str, headers: dict[str, str]) -> None:
    httpserver.clear()
    response = Response(body, status, headers=headers, content_type="application/json")
    httpserver.expect_request(re.compile(".*")).respond_with_response(response)


def test_a_message_id_in_a_response_header(root: Path, httpserver: HTTPServer) -> None:
    text = mini_spec(PARAMS, ROWS, ids="ids_header: X-Message-Id", response="note: {type: str}")
    name = register_spec(root, text)
    answering(httpserver, 202, "", {"X-Message-Id": "sg-123"})
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    assert provider.send(MESSAGE).message_ids == ["sg-123"]
    with SandboxServer(name) as server:
        result = server.provider().send(MESSAGE)
        assert result.message_ids == [server.accepted[0].message_id]


NAMED_BY_HEADER = """code_from: http
  message: {wire: message}
  error_name: {header: x-amzn-ErrorType}
  errors: {MessageRejected: validation, LimitExceededException: rate_limit,
           AccountSuspendedException: permission}"""
NAMED_IN_BODY = """code_from: http
  message: {wire: message}
  error_name: {wire: name}
  errors: {validation_error: validation, daily_quota_exceeded: quota,
           rate_limit_exceeded: rate_limit}"""


NAMED_BY_NUMBER = """code_from: http
  message: {wire: Message}
  error_name: {wire: ErrorCode}
  errors: {"405": quota, "406": validation, "412": permission}"""


@pytest.mark.parametrize(
    ("envelope", "status", "body", "headers", "error"),
    [
        # a numbered error (Postmark's ErrorCode) is named by its digits
        (NAMED_BY_NUMBER, 422, '{"ErrorCode": 405, "Message": "q"}', {}, QuotaExceededError),
        (NAMED_BY_NUMBER, 422, '{"ErrorCode": 412, "Message": "p"}', {}, PermissionDeniedError),
        (NAMED_BY_NUMBER, 422, '{"ErrorCode": "406", "Message": "v"}', {}, ProviderValidationError),
        (NAMED_BY_NUMBER, 422, '{"ErrorCode": true, "Message": "v"}', {}, ProviderValidationError),
        (
            NAMED_BY_HEADER,
            400,
            '{"message": "no"}',
            {"x-amzn-ErrorType": "MessageRejected:http://x"},
            ProviderValidationError,
        ),
        (
            NAMED_BY_HEADER,
            400,
            '{"message": "slow"}',
            {"x-amzn-ErrorType": "LimitExceededException"},
            RateLimitError,
        ),
        (
            NAMED_BY_HEADER,
            400,
            '{"message": "off"}',
            {"x-amzn-ErrorType": "AccountSuspendedException"},
            PermissionDeniedError,
        ),
        (
            NAMED_IN_BODY,
            429,
            '{"name": "daily_quota_exceeded", "message": "q"}',
            {},
            QuotaExceededError,
        ),
        (NAMED_IN_BODY, 429, '{"name": "rate_limit_exceeded", "message": "r"}', {}, RateLimitError),
        (
            NAMED_IN_BODY,
            422,
            '{"name": "validation_error", "message": "v"}',
            {},
            ProviderValidationError,
        ),
    ],
)
def test_one_status_raises_the_error_its_name_says(
    root: Path, httpserver: HTTPServer, envelope: str, status: int, body: str,
    headers: dict[str, str], error: type[Exception],
) -> None:  # fmt: skip
    name = register_spec(root, mini_spec(PARAMS, ROWS, envelope=envelope))
    answering(httpserver, status, body, headers)
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(error) as caught:
        provider.send(MESSAGE)
    assert caught.value.http_status == status


@pytest.mark.parametrize("envelope", [NAMED_BY_HEADER, NAMED_IN_BODY])
def test_the_sandbox_names_its_refusals_as_the_spec_reads_them(root: Path, envelope: str) -> None:
    name = register_spec(root, mini_spec(PARAMS, ROWS, envelope=envelope))
    with SandboxServer(name) as server:
        server.faults.queue(Fault.RATE_LIMIT, times=5)
        with pytest.raises(RateLimitError):
            server.provider().send(MESSAGE)


def test_the_sandbox_writes_a_numbered_error_name_as_a_number(root: Path) -> None:
    envelope = NAMED_BY_NUMBER.replace(
        '"412": permission}', '"412": permission, "429": rate_limit}'
    )
    name = register_spec(root, mini_spec(PARAMS, ROWS, envelope=envelope))
    with SandboxServer(name) as server:
        server.faults.queue(Fault.RATE_LIMIT, times=5)
        with pytest.raises(RateLimitError):
            server.provider().send(MESSAGE)
        answer = server.emulator.error(mailspec.ErrorCategory.QUOTA)
        assert json.loads(answer.body)["ErrorCode"] == 405


@pytest.mark.parametrize(
    ("envelope", "ids", "problem"),
    [
        ("code_from: http\n  error_name: {header: X-E}", "ids: message_id", "give both or neither"),
        ("code_from: http\n  errors: {X: validation}", "ids: message_id", "give both or neither"),
        (
            "code_from: http\n  error_name: {header: X-E, wire: n}\n  errors: {X: validation}",
            "ids: message_id",
            "one of them",
        ),
        ("code_from: http", "ids: message_id\n    ids_header: X-Id", "not both"),
    ],
)
def test_spec_check_refuses_impossible_answers(
    root: Path, envelope: str, ids: str, problem: str
) -> None:
    assert problem in spec_error(root, mini_spec(PARAMS, ROWS, envelope=envelope, ids=ids))
