"""What the sandbox answers: each operation's own codes (an email send is rate-limited
with the email code, an SMS with the SMS code), numbers written as strings when asked,
and nothing at all once stopped, not even on a keep-alive connection.

Real HTTP on 127.0.0.1; nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3

from mailspec import Message, RateLimitError
from mailspec.sandbox import Fault, Sandbox, SandboxServer


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "noreply@example.com",
        "to": ["ann@example.org"],
        "subject": "Hi",
        "html": "<p>x</p>",
    }
    fields.update(overrides)
    return Message(**fields)


def raw(server: SandboxServer, method: str, path: str, fields: dict[str, str]) -> Any:
    body = urlencode(fields)
    if method == "GET":
        response = urllib3.request(method, f"{server.base_url}{path}?{body}")
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = urllib3.request(
            method, server.base_url + path, body=body.encode(), headers=headers
        )
    return json.loads(response.data)


# --- each operation's rate-limit code ----------------------------------------------


def test_a_rate_limited_email_send_gets_the_email_rate_limit_code(aurora: SandboxServer) -> None:
    aurora.faults.queue(Fault.RATE_LIMIT, times=2)
    with pytest.raises(RateLimitError) as caught:
        aurora.provider().send(message())
    assert caught.value.code == 50000  # Rate limit exceeded, not 496 (SMS sending too frequent)
    assert "SMS" not in caught.value.message
    with pytest.raises(RateLimitError) as caught:  # the SMS API keeps its own
        aurora.provider().send_sms("+6591234567", "T-1")
    assert caught.value.code == 496


def test_a_rate_limited_status_query_gets_the_email_rate_limit_code(aurora: SandboxServer) -> None:
    aurora.faults.queue(Fault.RATE_LIMIT)
    with pytest.raises(RateLimitError) as caught:
        aurora.provider().status(since=date.today(), until=date.today())
    assert caught.value.code == 50000


def test_an_email_validation_error_without_a_code_is_no_sms_code(aurora: SandboxServer) -> None:
    """A request the sandbox cannot read gets the first validation code an email send
    may answer, not 312 (Every number was refused)."""
    answer = urllib3.request(
        "POST",
        aurora.base_url + "api/mail/send",
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    body = json.loads(answer.data)
    assert body["statusCode"] == 40001
    assert "unreadable request" in body["message"]


def test_every_provider_answers_an_operation_only_codes_it_may_answer() -> None:
    for server in Sandbox():
        emulator = server.emulator
        for op_name in server.spec.operations:
            for category in {row.category for row in server.spec.codes.values()}:
                code = emulator.code_for(category, op_name)
                row = server.spec.codes.get(code)
                if row is not None:
                    assert not row.operations or op_name in row.operations, (server.name, code)
