"""Every AuroraSendCloud status code becomes the ProviderError its category names
(AuroraSendCloud API Overview, Complete Status Code Reference, generated into codes.CODES)."""

from __future__ import annotations

from datetime import date

import pytest
from aurora_support import SEND_PATH, STATUS_PATH, failure, message, ok_send, ok_status

import mailspec
from mailspec import (
    AuthenticationError,
    ConflictError,
    ErrorCategory,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderServerError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    TemplateError,
)
from mailspec.errors import MailspecError
from mailspec.generated.aurorasendcloud.codes import CODES

REPRESENTATIVES = [
    (40012, ProviderValidationError, False),
    (40005, AuthenticationError, False),
    (6001, PermissionDeniedError, False),
    (50000, RateLimitError, True),
    (50001, RateLimitError, True),
    (40912, QuotaExceededError, False),
    (40913, QuotaExceededError, False),
    (40201, TemplateError, False),
    (40106, NotFoundError, False),
    (40113, ConflictError, False),
    (501, ProviderServerError, True),
    (49906, ProviderServerError, True),
]


@pytest.mark.parametrize(("code", "cls", "retryable"), REPRESENTATIVES)
def test_representative_code_of_each_category(httpserver, aurora, code, cls, retryable):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(code, f"provider says {code}")
    )
    with pytest.raises(cls) as info:
        aurora.send(message())
    error = info.value
    assert type(error) is cls
    assert error.provider == "aurorasendcloud"
    assert error.code == code
    assert error.message == f"provider says {code}"
    assert error.retryable is retryable
    assert error.retryable is CODES[code].retryable
    assert error.category == CODES[code].category
    assert error.http_status == 200
    assert error.ambiguous is False
    assert f"{code}" in str(error) and "aurorasendcloud" in str(error)


def test_template_error_is_a_provider_validation_error(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(failure(40201))
    with pytest.raises(ProviderValidationError):
        aurora.send(message())


def test_message_falls_back_to_the_table_when_the_answer_has_none(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"result": False, "statusCode": 40005, "info": {}}
    )
    with pytest.raises(AuthenticationError) as info:
        aurora.send(message())
    assert info.value.message == CODES[40005].message


SUCCESS = sorted(c for c, row in CODES.items() if row.category == ErrorCategory.SUCCESS)
FAILURES = sorted(c for c, row in CODES.items() if row.category != ErrorCategory.SUCCESS)


SMS_CODES = {311, 312, 411, 412, 413, 422, 431, 432, 433, 461, 496, 498, 499}


def test_the_table_is_the_whole_seed():
    # guard the parametrisation below: the Complete Status Code Reference's tables hold 126 distinct codes, and
    # the SMS API's 13 (200 is shared)
    assert len(CODES) == 126 + len(SMS_CODES)
    assert set(CODES) >= SMS_CODES
    assert {200, 40903, 40905, 49904} <= set(SUCCESS)
    assert {40005, 50000, 50001, 501, 6001} <= set(FAILURES)


@pytest.mark.parametrize("code", FAILURES)
def test_every_failure_code_raises_its_category(httpserver, aurora, code):
    row = CODES[code]
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(failure(code, "nope"))
    with pytest.raises(ProviderError) as info:
        aurora.send(message())
    error = info.value
    assert error.category == row.category
    assert type(error).category == row.category
    assert error.code == code
    assert error.retryable is row.retryable
    assert error.provider == "aurorasendcloud"


@pytest.mark.parametrize("code", SUCCESS)
def test_every_success_code_returns_a_result(httpserver, aurora, code):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {
            "result": True,
            "statusCode": code,
            "message": "fine",
            "info": {"emailIdList": [f"id-{code}"]},
        }
    )
    result = aurora.send(message())
    assert result.message_ids == [f"id-{code}"]


def test_retryability_follows_the_category_unless_a_row_overrides():
    for code, row in CODES.items():
        default = row.category in (ErrorCategory.RATE_LIMIT, ErrorCategory.SERVER)
        if row.retryable is not default:  # an explicit override: explain_code agrees with it
            assert mailspec.explain_code("aurorasendcloud", code).retryable is row.retryable


def test_lower_case_statuscode_success(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"result": True, "statuscode": 200, "message": "ok", "info": {"emailIdList": ["lc1"]}}
    )
    assert aurora.send(message()).message_ids == ["lc1"]


def test_lower_case_statuscode_failure_seed_001(httpserver, aurora):
    # AuroraSendCloud: Check status of emails, Rate Limiting, verbatim
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_data(
        '{"result": false, "statuscode": 50000, "message": "interface frequency limited", "info": {}}',
        content_type="application/json",
    )
    with pytest.raises(RateLimitError) as info:
        aurora.status(["id1"])
    assert info.value.code == 50000
    assert info.value.message == "interface frequency limited"
    assert info.value.retryable is True


def test_lower_case_statuscode_on_send_failure(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(40005, "authentication failed", key="statuscode")
    )
    with pytest.raises(AuthenticationError):
        aurora.send(message())


def test_lower_case_statuscode_on_status_success(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_json(
        {
            "result": True,
            "statuscode": 200,
            "message": "ok",
            "info": {
                "total": 1,
                "voList": [{"emailId": "id1", "status": 1, "recipient": "ann@example.org"}],
            },
        }
    )
    [status] = aurora.status(["id1"])
    assert status.message_id == "id1"


@pytest.mark.parametrize("code", [12345, 0, -1, 99999999])
def test_unknown_code_is_a_base_provider_error(httpserver, aurora, code):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(failure(code, "mystery"))
    with pytest.raises(ProviderError) as info:
        aurora.send(message())
    error = info.value
    assert type(error) is ProviderError
    assert error.category == ErrorCategory.UNKNOWN
    assert error.code == code
    assert error.message == "mystery"
    assert error.retryable is False


def test_retry_after_header_is_kept(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(50000, "slow down"), headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimitError) as info:
        aurora.send(message())
    assert info.value.retry_after == 7.0


def test_retry_after_on_an_http_429(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(50001, "frequency limited"), status=429, headers={"Retry-After": "2.5"}
    )
    with pytest.raises(RateLimitError) as info:
        aurora.send(message())
    assert info.value.retry_after == 2.5
    assert info.value.http_status == 429


def test_unreadable_retry_after_is_none(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(50000), headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    with pytest.raises(RateLimitError) as info:
        aurora.send(message())
    assert info.value.retry_after is None


def test_no_retry_after_header_is_none(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(failure(50000))
    with pytest.raises(RateLimitError) as info:
        aurora.send(message())
    assert info.value.retry_after is None


def test_status_error_answer_is_typed(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_json(
        failure(40005, "authentication failed")
    )
    with pytest.raises(AuthenticationError) as info:
        aurora.status(["id1"])
    assert info.value.code == 40005


def test_success_code_on_an_http_500_is_a_server_error(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"), status=500)
    with pytest.raises(ProviderServerError) as info:
        aurora.send(message())
    assert info.value.http_status == 500


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429, 500, 502, 503])
def test_error_envelope_on_any_http_status_keeps_the_body_code(httpserver, aurora, status):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        failure(40005, "authentication failed"), status=status
    )
    with pytest.raises(AuthenticationError) as info:
        aurora.send(message())
    assert info.value.code == 40005
    assert info.value.http_status == status


def test_status_error_on_a_later_page_is_typed(httpserver, aurora):
    page = [{"emailId": f"id{i}", "status": 1} for i in range(100)]
    httpserver.expect_ordered_request(STATUS_PATH, method="GET").respond_with_json(
        ok_status(page, total=300)
    )
    httpserver.expect_ordered_request(STATUS_PATH, method="GET").respond_with_json(
        failure(501, "Server exception")
    )
    with pytest.raises(ProviderServerError) as info:
        aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 2))
    assert info.value.retryable is True
    assert len(httpserver.log) == 2


def test_every_error_is_a_mailspec_error():
    for cls in (
        ProviderError,
        ProviderValidationError,
        TemplateError,
        AuthenticationError,
        PermissionDeniedError,
        RateLimitError,
        QuotaExceededError,
        NotFoundError,
        ConflictError,
        ProviderServerError,
    ):
        assert issubclass(cls, MailspecError)
