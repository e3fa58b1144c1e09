"""The sandbox serves AuroraSendCloud's SMS API from the spec: its own credentials,
plain or signed (the key never on the wire), refusals with the set's code, the SMS
answer shape, and a record of every SMS it took. Real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import urllib3

import mailspec
from mailspec import AuthenticationError, ProviderValidationError, UnsupportedOperation
from mailspec.sandbox import Sandbox, SandboxServer

NUMBERS = ["+6591234567", "+6598765432"]
SMS_PATH = "smsapi/send"


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


def post(server: SandboxServer, fields: dict[str, str]) -> dict[str, object]:
    response = urllib3.request(
        "POST",
        server.base_url + SMS_PATH,
        body=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer: dict[str, object] = json.loads(response.data)
    return answer


def signed_fields(server: SandboxServer, *, at_ms: int, **extra: str) -> dict[str, str]:
    """A signed SMS request built here, independently of mailspec's signing code."""
    key = server.credentials["sms_key"]
    fields = {
        "smsUser": server.credentials["sms_user"],
        "templateId": "T-1001",
        "phone": ",".join(NUMBERS),
        "vars": '{"code":"4242"}',
        "timestamp": str(at_ms),
        **extra,
    }
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["signature"] = hashlib.md5(f"{key}&{text}&{key}".encode()).hexdigest()
    return fields


def now_ms() -> int:
    return int(time.time() * 1000)


def sms_records(server: SandboxServer) -> list[mailspec.sandbox.Accepted]:
    return [a for a in server.accepted if a.operation == "send_sms"]


def test_the_sandbox_has_sms_credentials_and_provider_uses_them(aurora: SandboxServer) -> None:
    assert aurora.credentials == {
        "api_user": "sandbox-api-user",
        "api_key": "sandbox-api-key",
        "sms_user": "sandbox-sms-user",
        "sms_key": "sandbox-sms-key",
    }
    # a provider URL still carries the main credentials only
    from_url = mailspec.provider_from_url(aurora.url)
    assert from_url.client.base_url == aurora.base_url


@pytest.mark.parametrize("signed", [False, True])
def test_round_trip_and_reconcile(aurora: SandboxServer, signed: bool) -> None:
    provider = aurora.provider(signed=signed)
    result = provider.send_sms(NUMBERS, "T-1001", {"code": "4242"})
    records = sms_records(aurora)
    assert result.message_ids == [r.message_id for r in records]
    assert [r.recipient for r in records] == NUMBERS
    assert all(r.params["template_id"] == "T-1001" for r in records)
    assert all(r.params["variables"] == {"code": "4242"} for r in records)
    assert (result.code, result.partial) == (200, False)


def test_sms_and_mail_records_sit_side_by_side(aurora: SandboxServer) -> None:
    provider = aurora.provider()
    provider.send(
        mailspec.Message(
            from_email="noreply@example.com", to=["ann@example.org"], subject="s", html="h"
        )
    )
    provider.send_sms("+6591234567", "T-1001")
    assert [(a.operation, a.recipient) for a in aurora.accepted] == [
        ("send", "ann@example.org"),
        ("send_sms", "+6591234567"),
    ]


def test_the_answer_has_the_sms_shape(aurora: SandboxServer) -> None:
    fields = {
        "smsUser": "sandbox-sms-user",
        "smsKey": "sandbox-sms-key",
        "templateId": "T-1001",
        "phone": ",".join(NUMBERS),
    }
    answer = post(aurora, fields)
    ids = [r.message_id for r in sms_records(aurora)]
    assert answer["result"] is True and answer["statusCode"] == 200
    assert answer["info"] == {"successCount": 2, "smsIds": ids}


@pytest.mark.parametrize("signed", [False, True])
def test_a_wrong_key_is_refused_with_the_sets_code(aurora: SandboxServer, signed: bool) -> None:
    intruder = mailspec.provider(
        "aurorasendcloud",
        base_url=aurora.base_url,
        **{**aurora.credentials, "sms_key": "wrong-key"},
        signed=signed,
    )
    with pytest.raises(AuthenticationError) as info:
        intruder.send_sms(NUMBERS, "T-1001")
    assert (info.value.code, info.value.retryable) == (422, False)
    assert sms_records(aurora) == []


def test_the_mail_credentials_do_not_open_the_sms_api(aurora: SandboxServer) -> None:
    fields = {
        "api_user": "sandbox-api-user",
        "api_key": "sandbox-api-key",
        "templateId": "T-1001",
        "phone": NUMBERS[0],
    }
    assert post(aurora, fields)["statusCode"] == 422
    assert sms_records(aurora) == []


def test_a_signed_request_built_elsewhere_is_accepted(aurora: SandboxServer) -> None:
    answer = post(aurora, signed_fields(aurora, at_ms=now_ms()))
    assert answer["statusCode"] == 200, answer
    assert [r.recipient for r in sms_records(aurora)] == NUMBERS


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "+6591234567"},
        {"templateId": "T-1002"},
        {"vars": '{"code":"4243"}'},
        {"smsUser": "someone-else"},
        {"signature": "0" * 32},
    ],
)
def test_a_tampered_signed_request_is_refused(
    aurora: SandboxServer, change: dict[str, str]
) -> None:
    fields = {**signed_fields(aurora, at_ms=now_ms()), **change}
    assert post(aurora, fields)["statusCode"] == 422
    assert sms_records(aurora) == []


def test_a_signed_request_may_not_carry_its_key(aurora: SandboxServer) -> None:
    fields = signed_fields(aurora, at_ms=now_ms())
    fields["smsKey"] = aurora.credentials["sms_key"]  # after signing: the signature is valid
    assert post(aurora, fields)["statusCode"] == 422
    # signed over the key too: still the key on the wire
    with_key = signed_fields(aurora, at_ms=now_ms(), smsKey=aurora.credentials["sms_key"])
    assert post(aurora, with_key)["statusCode"] == 422
    assert sms_records(aurora) == []


def test_a_signed_request_without_its_timestamp_is_refused(aurora: SandboxServer) -> None:
    fields = signed_fields(aurora, at_ms=now_ms())
    del fields["timestamp"], fields["signature"]
    key = aurora.credentials["sms_key"]
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["signature"] = hashlib.md5(f"{key}&{text}&{key}".encode()).hexdigest()
    assert post(aurora, fields)["statusCode"] == 422


@pytest.mark.parametrize("minutes, code", [(-11, 461), (11, 461), (-9, 200), (9, 200)])
def test_the_timestamp_must_be_near_the_sandbox_clock(
    aurora: SandboxServer, minutes: int, code: int
) -> None:
    answer = post(aurora, signed_fields(aurora, at_ms=now_ms() + minutes * 60_000))
    assert answer["statusCode"] == code, answer
    assert len(sms_records(aurora)) == (2 if code == 200 else 0)


def test_a_stale_client_gets_a_validation_error(
    aurora: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client and the sandbox share this process's clock, so the client's is moved
    back only while it signs: the sandbox then sees a timestamp 20 minutes old."""
    provider = aurora.provider(signed=True)
    real = time.time
    monkeypatch.setattr("mailspec.runtime.client.time", _Clock(real() - 20 * 60))
    with pytest.raises(ProviderValidationError) as info:
        provider.send_sms(NUMBERS, "T-1001")
    assert info.value.code == 461
    assert sms_records(aurora) == []


class _Clock:
    """A stand-in for the ``time`` module with a fixed ``time()``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_an_invalid_number_is_refused_with_the_providers_code(aurora: SandboxServer) -> None:
    fields = {
        "smsUser": "sandbox-sms-user",
        "smsKey": "sandbox-sms-key",
        "templateId": "T-1001",
        "phone": "+6591234567,12345",
    }
    assert post(aurora, fields)["statusCode"] == 412
    assert sms_records(aurora) == []


def test_a_sandbox_of_several_providers() -> None:
    with Sandbox(["aurorasendcloud", "cloudmails"]) as sandbox:
        result = sandbox["aurorasendcloud"].provider(signed=True).send_sms(NUMBERS[0], "T-1")
        assert result.message_ids == [a.message_id for a in sandbox["aurorasendcloud"].accepted]
        with pytest.raises(UnsupportedOperation):
            sandbox["cloudmails"].provider().send_sms(NUMBERS[0], "T-1")
        assert sandbox["cloudmails"].requests == 0
