"""Numbers written as strings in answers (``"code": "200"``, ``"total": "2"``) are read
as the numbers they are, wherever the spec declares a number: in every generated
decoder, in the envelope, and where the adapters use codes, totals and counts. Nothing
else is relaxed: a bool stays a bool, and a string that is not exactly a JSON number
is still a malformed answer.

Real HTTP on 127.0.0.1 (pytest-httpserver); nothing of mailspec is mocked.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

import msgspec
import pytest
from providers_support import message
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    AuthenticationError,
    DeliveryState,
    MalformedResponseError,
    ProviderValidationError,
    RateLimitError,
)
from mailspec.registry import spec as spec_of
from mailspec.spec_model import Spec, auth_keywords

PROVIDERS = sorted(importlib.import_module("mailspec.generated").PROVIDERS)


def aurora(server: HTTPServer) -> Any:
    return mailspec.provider(
        "aurorasendcloud",
        api_user="u",
        api_key="k",
        sms_user="su",
        sms_key="sk",
        base_url=server.url_for("/"),
        timeout=5,
    )


# --- every generated decoder --------------------------------------------------------


def _sample(spec: Spec, type_text: str, *, as_text: bool) -> Any:
    """A JSON value of a response type, with every number written as a string."""
    if type_text.startswith("list["):
        return [_sample(spec, type_text[5:-1], as_text=as_text)]
    if type_text.startswith("dict[str,"):
        return {"k": _sample(spec, type_text[9:-1].strip(), as_text=as_text)}
    scalars = {"str": "x", "bool": True, "any": "x", "int": "7", "float": "2.5"}
    if type_text in scalars:
        return scalars[type_text]
    shape = spec.shapes[type_text]
    return {
        (f.wire or name): _sample(spec, f.type, as_text=as_text) for name, f in shape.fields.items()
    }


def _numbers(spec: Spec, type_text: str, value: Any) -> list[Any]:
    """Every decoded value at a field the spec types int or float."""
    if type_text.startswith("list["):
        return [n for v in value for n in _numbers(spec, type_text[5:-1], v)]
    if type_text.startswith("dict[str,"):
        return [n for v in value.values() for n in _numbers(spec, type_text[9:-1].strip(), v)]
    if type_text in ("int", "float"):
        return [(type_text, value)]
    if type_text in ("str", "bool", "any"):
        return []
    shape = spec.shapes[type_text]
    return [
        n for name, f in shape.fields.items() for n in _numbers(spec, f.type, getattr(value, name))
    ]


def _has_numbers(spec: Spec, type_text: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a response type holds an int or float anywhere."""
    if type_text.startswith("list["):
        return _has_numbers(spec, type_text[5:-1], seen)
    if type_text.startswith("dict[str,"):
        return _has_numbers(spec, type_text[9:-1].strip(), seen)
    if type_text in ("int", "float"):
        return True
    if type_text not in spec.shapes or type_text in seen:
        return False
    fields = spec.shapes[type_text].fields.values()
    return any(_has_numbers(spec, f.type, seen | {type_text}) for f in fields)


# the providers with numbers in answers beyond the envelope (not AOTsend, not SES, whose
# answers hold only text), and those whose envelope carries a code in the body (not
# CloudMails: its code is the HTTP status)
WITH_SHAPES = [
    n
    for n in PROVIDERS
    if any(
        op.response in spec_of(n).shapes and _has_numbers(spec_of(n), op.response)
        for op in spec_of(n).operations.values()
    )
]
WITH_BODY_CODE = [n for n in PROVIDERS if spec_of(n).envelope.code is not None]


def test_the_applicable_providers_are_the_known_ones() -> None:
    assert {"sendcloud", "aurorasendcloud", "cloudmails"} <= set(WITH_SHAPES)
    assert "aotsend" not in WITH_SHAPES and "ses" not in WITH_SHAPES
    assert {"sendcloud", "aurorasendcloud", "aotsend"} <= set(WITH_BODY_CODE)
    assert "cloudmails" not in WITH_BODY_CODE


@pytest.mark.parametrize("name", WITH_SHAPES)
def test_every_generated_decoder_reads_numbers_written_as_strings(name: str) -> None:
    client = mailspec.provider(name, **_credentials(name)).client
    spec = spec_of(name)
    checked = []
    for op_name, op in spec.operations.items():
        if op.response not in spec.shapes:  # the envelope itself: the test below
            continue
        body = msgspec.json.encode(_sample(spec, op.response, as_text=True))
        decoded = client.decoders[op_name].decode(body)
        for kind, value in _numbers(spec, op.response, decoded):
            assert type(value) is (int if kind == "int" else float), (op_name, value)
            assert value == (7 if kind == "int" else 2.5)
            checked.append(op_name)
    assert checked


@pytest.mark.parametrize("name", WITH_BODY_CODE)
def test_every_envelope_reads_its_code_written_as_a_string(name: str) -> None:
    client = mailspec.provider(name, **_credentials(name)).client
    env = spec_of(name).envelope
    assert env.code is not None
    for key in (env.code.wire, *env.code.aliases):
        envelope = client.envelope_decoder.decode(msgspec.json.encode({key: "40005"}))
        assert envelope.code == 40005 and type(envelope.code) is int


def _credentials(name: str) -> dict[str, str]:
    """Credentials (and a region, where the spec requires one) for any auth scheme."""
    spec = spec_of(name)
    required, _ = auth_keywords(spec.auth)
    names = [*required, *(c for s in spec.auth.sets.values() for c in s.body)]
    out = {c: "x" for c in names}
    if spec.region_required:
        out["region"] = spec.default_region
    return out


# --- over HTTP: send, status, SMS, error codes --------------------------------------


def test_aotsend_success_code_as_a_string(httpserver: HTTPServer, aotsend: Any) -> None:
    httpserver.expect_request("/index/api/send_email", method="POST").respond_with_json(
        {"code": "200", "message": "Request successful"}
    )
    result = aotsend.send(message(subject=None, html=None, template="tpl-1"))
    assert result.provider == "aotsend" and result.message_ids == []


@pytest.mark.parametrize(
    ("code", "error"), [("40002", AuthenticationError), ("40005", ProviderValidationError)]
)
def test_aotsend_error_code_as_a_string_is_its_error_class(
    httpserver: HTTPServer, aotsend: Any, code: str, error: type[Exception]
) -> None:
    httpserver.expect_request("/index/api/send_email", method="POST").respond_with_json(
        {"code": code, "message": "no"}
    )
    with pytest.raises(error) as info:
        aotsend.send(message(subject=None, html=None, template="tpl-1"))
    assert info.value.code == int(code) and type(info.value.code) is int


def test_sendcloud_send_and_status_with_string_numbers(
    httpserver: HTTPServer, sendcloud: Any
) -> None:
    httpserver.expect_request("/apiv2/mail/send", method="POST").respond_with_json(
        {"result": True, "statusCode": "200", "message": "ok", "info": {"emailIdList": ["e1"]}}
    )
    assert sendcloud.send(message()).message_ids == ["e1"]
    records = [{"emailId": "e1", "status": "1"}, {"emailId": "e2", "status": "4", "subStat": "406"}]
    httpserver.expect_request("/apiv2/data/emailStatus", method="GET").respond_with_json(
        {
            "result": True,
            "statusCode": "200",
            "message": "ok",
            "info": {"total": "2", "voList": records},
        }
    )
    statuses = sendcloud.status(["e1", "e2"])
    assert [(s.message_id, s.state, s.code, s.sub_code) for s in statuses] == [
        ("e1", DeliveryState.DELIVERED, "1", None),
        ("e2", DeliveryState.BOUNCED, "4", "406"),
    ]


def test_a_string_total_ends_paging(httpserver: HTTPServer) -> None:
    """A full page whose total (as a string) says it is the last: no second request."""
    page = [{"emailId": f"e{i}", "status": "1"} for i in range(100)]
    httpserver.expect_request("/api/data/emailStatus", method="GET").respond_with_json(
        {
            "result": True,
            "statusCode": "200",
            "message": "ok",
            "info": {"total": "100", "voList": page},
        }
    )
    statuses = aurora(httpserver).status(since=date.today(), until=date.today())
    assert len(statuses) == 100
    assert len(httpserver.log) == 1


def test_aurora_error_code_as_a_string_under_either_spelling(httpserver: HTTPServer) -> None:
    for key, code, error in (
        ("statusCode", "40005", AuthenticationError),
        ("statuscode", "50000", RateLimitError),
    ):
        httpserver.clear()
        httpserver.expect_request("/api/mail/send", method="POST").respond_with_json(
            {"result": False, key: code, "message": "no", "info": {}}
        )
        with pytest.raises(error) as info:
            aurora(httpserver).send(message())
        assert info.value.code == int(code)


def test_sms_code_and_count_as_strings(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/smsapi/send", method="POST").respond_with_json(
        {
            "result": True,
            "statusCode": "311",
            "message": "some",
            "info": {"successCount": "1", "smsIds": ["s1"]},
        }
    )
    result = aurora(httpserver).send_sms(["+6591234567", "+6598765432"], "T-1")
    assert result.code == 311 and type(result.code) is int
    assert result.partial is True
    assert result.message_ids == ["s1"]


def test_cloudmails_counters_as_strings(httpserver: HTTPServer, cloudmails: Any) -> None:
    httpserver.expect_request("/v1/emails/m1", method="GET").respond_with_json(
        {"message_id": "m1", "status": "delivered", "opens": "2", "clicks": "0"}
    )
    [status] = cloudmails.status(["m1"])
    assert status.state == DeliveryState.OPENED


# --- what stays refused: each test reads the string number first, then the refusals


def _aotsend_answering(server: HTTPServer, aotsend: Any, code: Any) -> Any:
    server.clear()
    server.expect_request("/index/api/send_email", method="POST").respond_with_json(
        {"code": code, "message": "?"}
    )
    return aotsend.send(message(subject=None, html=None, template="tpl-1"))


def test_a_code_that_is_not_exactly_an_integer_is_no_code(
    httpserver: HTTPServer, aotsend: Any
) -> None:
    assert _aotsend_answering(httpserver, aotsend, "200").provider == "aotsend"
    refused = ["2.0", " 200", "+200", "0200", "1e2", "", "200x", "\uff12\uff10\uff10"]
    for code in [*refused, True, 200.0]:
        with pytest.raises(MalformedResponseError, match="carries no status code"):
            _aotsend_answering(httpserver, aotsend, code)


def test_a_bool_is_not_relaxed(httpserver: HTTPServer, sendcloud: Any) -> None:
    """strict=False would read "true", 1 and "1" as True; the answer is malformed instead."""
    for result in [True, "true", 1, "1"]:
        httpserver.clear()
        httpserver.expect_request("/apiv2/mail/send", method="POST").respond_with_json(
            {"result": result, "statusCode": "200", "message": "ok", "info": {"emailIdList": ["e"]}}
        )
        if result is True:
            assert sendcloud.send(message()).message_ids == ["e"]
            continue
        with pytest.raises(MalformedResponseError, match="unexpected answer shape"):
            sendcloud.send(message())


def test_a_total_that_is_no_integer_is_malformed(httpserver: HTTPServer, sendcloud: Any) -> None:
    """strict=False would read "null" as no total and "1e0" as 1."""
    for total in ["0", "null", "nan", "2.5", "1e0", "two"]:
        httpserver.clear()
        httpserver.expect_request("/apiv2/data/emailStatus", method="GET").respond_with_json(
            {
                "result": True,
                "statusCode": 200,
                "message": "ok",
                "info": {"total": total, "voList": []},
            }
        )
        if total == "0":
            assert sendcloud.status(["e1"]) == []
            continue
        with pytest.raises(MalformedResponseError, match=r"info\.total"):
            sendcloud.status(["e1"])
