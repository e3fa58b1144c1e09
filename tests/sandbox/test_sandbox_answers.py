"""What the sandbox answers: each operation's own codes (an email send is rate-limited
with the email code, an SMS with the SMS code), numbers written as strings when asked,
and nothing at all once stopped, not even on a keep-alive connection.

Real HTTP on 127.0.0.1; nothing of mailspec is mocked.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import urllib3

import mailspec
from mailspec import DeliveryState, Message, RateLimitError
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


# --- numbers as strings -------------------------------------------------------------


def test_aotsend_code_as_a_string() -> None:
    with SandboxServer("aotsend") as aotsend:
        # by default a JSON number, as AOTsend Email API Handbook, Return Examples shows
        assert raw(aotsend, "POST", "index/api/send_email", {"app_key": "x"})["code"] == 40002
        aotsend.numbers_as_strings = True
        fields = {
            "app_key": aotsend.credentials["app_key"],
            "template_id": "t",
            "to": "ann@example.org",
        }
        assert raw(aotsend, "POST", "index/api/send_email", fields) == {
            "code": "200",
            "message": "Request successful",
        }
        assert raw(aotsend, "POST", "index/api/send_email", {"app_key": "x"})["code"] == "40002"
        result = aotsend.provider().send(message(subject=None, html=None, template="t"))
        assert result.provider == "aotsend"
        with pytest.raises(mailspec.AuthenticationError) as caught:
            mailspec.provider("aotsend", app_key="wrong", base_url=aotsend.base_url).send(
                message(subject=None, html=None, template="t")
            )
        assert caught.value.code == 40002


@pytest.mark.parametrize("name", ["sendcloud", "aurorasendcloud"])
def test_sendcloud_total_and_codes_as_strings(name: str) -> None:
    with SandboxServer(name) as server:
        server.numbers_as_strings = True
        server.set_outcome(DeliveryState.BOUNCED, sub_status=406)
        provider = server.provider()
        sent = provider.send(message(to=["ann@example.org", "bob@example.org"]))
        creds = {wire: server.credentials[c] for c, wire in server.spec.auth.body.items()}
        query = {**creds, "emailIds": ";".join(sent.message_ids), "days": "1"}
        body = raw(server, "GET", server.spec.operations["status"].path, query)
        assert body["statusCode"] == "200"
        assert body["info"]["total"] == "2"
        assert {r["status"] for r in body["info"]["voList"]} == {"4"}
        assert {r["subStat"] for r in body["info"]["voList"]} == {"406"}
        statuses = provider.status(sent.message_ids)
        assert [s.state for s in statuses] == [DeliveryState.BOUNCED] * 2
        assert {s.sub_code for s in statuses} == {"406"}


def test_sms_answer_with_string_numbers(aurora: SandboxServer) -> None:
    aurora.numbers_as_strings = True
    fields = {
        "smsUser": aurora.credentials["sms_user"],
        "smsKey": aurora.credentials["sms_key"],
        "phone": "+6591234567,+6598765432",
        "templateId": "T-1",
    }
    body = raw(aurora, "POST", "smsapi/send", fields)
    assert (body["statusCode"], body["info"]["successCount"]) == ("200", "2")
    result = aurora.provider().send_sms(["+6591234567", "+6598765432"], "T-1")
    assert result.code == 200 and len(result.message_ids) == 2


def test_cloudmails_counters_as_strings() -> None:
    with Sandbox(["cloudmails"], numbers_as_strings=True) as sandbox:
        server = sandbox["cloudmails"]
        server.set_outcome(DeliveryState.CLICKED)
        provider = server.provider()
        sent = provider.send(message())
        answer = urllib3.request(
            "GET",
            f"{server.base_url}/emails/{sent.message_ids[0]}",
            headers={"Authorization": f"Bearer {server.credentials['api_key']}"},
        )
        record = json.loads(answer.data)
        assert (record["opens"], record["clicks"]) == ("1", "1")
        [status] = provider.status(sent.message_ids)
        assert status.state == DeliveryState.CLICKED


# --- stop() ---------------------------------------------------------------------------


def test_stop_ends_an_open_keep_alive_connection() -> None:
    server = SandboxServer("aurorasendcloud").start()
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.request("GET", url.path + "api/nothing")
        first = connection.getresponse()
        first.read()
        assert first.status == 404 and not first.will_close  # kept alive
        server.stop()
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            connection.request("GET", url.path + "api/nothing")
            connection.getresponse().read()
    finally:
        connection.close()
        server.stop()


def test_a_stopped_server_refuses_new_connections_and_its_pool_gets_no_answer() -> None:
    server = SandboxServer("aurorasendcloud").start()
    pool = urllib3.PoolManager(retries=False)
    assert pool.request("GET", server.base_url + "api/nothing").status == 404
    server.stop()
    with pytest.raises(urllib3.exceptions.HTTPError):
        pool.request("GET", server.base_url + "api/nothing")
    pool.clear()
