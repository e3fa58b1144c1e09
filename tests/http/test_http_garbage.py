"""Answers that are not what the spec says: always a ProviderError subclass, never a
KeyError, JSONDecodeError or msgspec error. A 2xx answer to a POST that cannot be read
is ambiguous (the provider may have accepted the message); to a GET it is not."""

from __future__ import annotations

import json

import pytest
from aurora_support import SEND_PATH, STATUS_PATH, message

from mailspec import MalformedResponseError, ProviderError, ProviderServerError

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

UNREADABLE_2XX = {
    "not json": b"this is not json",
    "truncated": b'{"result": true, "statusCode": 200, "message": "ok", "info": {"emailIdLi',
    "array": b'[{"statusCode": 200}]',
    "no code": b"{}",
    "null": b"null",
    "number": b"200",
    "code is text": b'{"result": false, "statusCode": "abc", "message": "x", "info": {}}',
    "code is float": b'{"result": true, "statusCode": 200.5, "message": "x", "info": {}}',
    "code is bool": b'{"result": true, "statusCode": true, "message": "x", "info": {}}',
    "empty": b"",
    "not utf-8": b'{"statusCode": 200, "message": "\xff\xfe"}',
    "html": HTML_502.encode(),
    "info wrong shape": b'{"result": true, "statusCode": 200, "message": "ok", "info": []}',
    "ids not a list": b'{"result": true, "statusCode": 200, "message": "ok", '
    b'"info": {"emailIdList": "e1"}}',
    "ids of numbers": b'{"result": true, "statusCode": 200, "message": "ok", '
    b'"info": {"emailIdList": [1, 2]}}',
}

STATUS_WRONG_SHAPE = {
    "records not a list": {"total": 1, "voList": {"emailId": "x"}},
    "record status text": {"total": 1, "voList": [{"emailId": "x", "status": "delivered"}]},
    "total text": {"total": "many", "voList": []},
    "record not an object": {"total": 1, "voList": ["x"]},
}


def _check_malformed(error: BaseException, *, http_status: int, ambiguous: bool) -> None:
    assert isinstance(error, MalformedResponseError)
    assert error.provider == "aurorasendcloud"
    assert error.http_status == http_status
    assert error.ambiguous is ambiguous
    assert error.retryable is False
    assert f"HTTP {http_status}" in str(error)


@pytest.mark.parametrize("body", list(UNREADABLE_2XX.values()), ids=list(UNREADABLE_2XX))
def test_unreadable_2xx_to_send_is_malformed_and_ambiguous(httpserver, aurora, body):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        body, status=200, content_type="application/json"
    )
    with pytest.raises(MalformedResponseError) as info:
        aurora.send(message())
    _check_malformed(info.value, http_status=200, ambiguous=True)


def test_huge_code_is_read_as_an_unknown_code(httpserver, aurora):
    code = 10**40
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        f'{{"result": false, "statusCode": {code}, "message": "x", "info": {{}}}}'
    )
    with pytest.raises(ProviderError) as info:
        aurora.send(message())
    assert type(info.value) is ProviderError
    assert (info.value.code, info.value.category) == (code, "unknown")


@pytest.mark.parametrize("status", [201, 202])
def test_other_2xx_statuses_are_ambiguous_too(httpserver, aurora, status):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        b"accepted", status=status
    )
    with pytest.raises(MalformedResponseError) as info:
        aurora.send(message())
    _check_malformed(info.value, http_status=status, ambiguous=True)


@pytest.mark.parametrize("body", list(UNREADABLE_2XX.values()), ids=list(UNREADABLE_2XX))
def test_unreadable_2xx_to_status_is_malformed_not_ambiguous(httpserver, aurora, body):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_data(
        body.replace(b"emailIdList", b"voList"), status=200, content_type="application/json"
    )
    with pytest.raises(MalformedResponseError) as info:
        aurora.status(["id1"])
    _check_malformed(info.value, http_status=200, ambiguous=False)


@pytest.mark.parametrize("info_", list(STATUS_WRONG_SHAPE.values()), ids=list(STATUS_WRONG_SHAPE))
def test_status_success_with_wrong_record_shape_is_malformed(httpserver, aurora, info_):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_json(
        {"result": True, "statusCode": 200, "message": "ok", "info": info_}
    )
    with pytest.raises(MalformedResponseError) as info:
        aurora.status(["id1"])
    _check_malformed(info.value, http_status=200, ambiguous=False)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_html_error_page_is_a_server_error(httpserver, aurora, status):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        HTML_502, status=status, content_type="text/html"
    )
    with pytest.raises(ProviderServerError) as info:
        aurora.send(message())
    error = info.value
    assert error.http_status == status
    assert error.code == status
    assert error.retryable is True
    assert not isinstance(error, MalformedResponseError)


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, "validation"),
        (401, "authentication"),
        (403, "permission"),
        (404, "not_found"),
        (409, "conflict"),
        (413, "validation"),
        (429, "rate_limit"),
        (418, "unknown"),
    ],
)
def test_unreadable_4xx_falls_back_on_the_http_status(httpserver, aurora, status, category):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        "<h1>nope</h1>", status=status, content_type="text/html"
    )
    with pytest.raises(ProviderError) as info:
        aurora.send(message())
    assert info.value.category == category
    assert info.value.http_status == status
    assert info.value.ambiguous is False


def test_empty_body_on_an_http_error_is_typed(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_data(b"", status=503)
    with pytest.raises(ProviderServerError) as info:
        aurora.status(["id1"])
    assert info.value.http_status == 503


def test_no_other_exception_type_escapes(httpserver, aurora):
    """One pass over every garbage body on both operations: only ProviderErrors."""
    bodies = [*UNREADABLE_2XX.values(), json.dumps({"statusCode": None}).encode()]
    for status in (200, 400, 500):
        for body in bodies:
            httpserver.clear()
            httpserver.expect_request(SEND_PATH).respond_with_data(body, status=status)
            httpserver.expect_request(STATUS_PATH).respond_with_data(body, status=status)
            where = f"HTTP {status} {body[:40]!r}"
            try:
                aurora.send(message())
            except ProviderError:
                pass
            except Exception as exc:
                pytest.fail(f"send: {type(exc).__name__} escaped for {where}")
            else:
                pytest.fail(f"send: no error for {where}")
            try:
                aurora.status(["id1"])
            except ProviderError:
                pass
            except Exception as exc:
                pytest.fail(f"status: {type(exc).__name__} escaped for {where}")
            # status may succeed on a body that happens to fit its answer's shape (unknown
            # fields are ignored): only the exception types matter there
