"""Every code in each provider's generated table lands in the error class its category
names, and every code a seed documents is in the table."""

from __future__ import annotations

from typing import Any

import pytest
from providers_support import SEEDS, message, seed_codes
from spec_support import NAMES, SPECS

import mailspec
from mailspec import ErrorCategory, ProviderError
from mailspec.errors import error_class_for
from mailspec.generated.aotsend.codes import CODES as AOTSEND
from mailspec.generated.cloudmails.codes import CODES as CLOUDMAILS
from mailspec.generated.sendcloud.codes import CODES as SENDCLOUD

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="provider documents not available")


@needs_seeds
def test_every_sendcloud_v2_seed_code_is_in_the_table():
    documented = seed_codes("SendCloud API v2: Rules", "API return codes are as follows:")
    assert len(documented) == 239
    assert sorted(set(documented) - set(SENDCLOUD)) == []
    # and the only rows beyond the document are the three taken from AuroraSendCloud API
    # Overview, Complete Status Code Reference (the same platform)
    assert sorted(set(SENDCLOUD) - set(documented)) == [40912, 40913, 50000]


@needs_seeds
def test_every_aotsend_seed_code_is_in_the_table():
    documented = seed_codes("AOTsend Email API Handbook", "Code Return Comparison")
    assert documented == [200, *range(40001, 40009)]
    assert sorted(documented) == sorted(AOTSEND)


@needs_seeds
def test_every_cloudmails_seed_code_is_in_the_table():
    documented = seed_codes("CloudMails SMTP API Documentation", "Error Codes")
    assert documented == [400, 401, 403, 429, 500]
    assert set(documented) <= set(CLOUDMAILS)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (200, "success"),
        (40903, "success"),
        (49904, "success"),
        (40100, "success"),
        (40005, "authentication"),
        (40001, "validation"),
        (40017, "validation"),
        (40901, "server"),
        (501, "server"),
        (49901, "server"),
        (49906, "server"),
        (40904, "quota"),
        (40912, "quota"),
        (40913, "quota"),
        (50000, "rate_limit"),
        (50001, "rate_limit"),
        (6001, "permission"),
        (40201, "template"),
        (40216, "not_found"),
        (40220, "conflict"),
        (40113, "conflict"),
    ],
)
def test_sendcloud_categories_follow_the_issue(code, category):
    assert SENDCLOUD[code].category == category


def test_sendcloud_40901_is_not_retried():
    assert SENDCLOUD[40901].retryable is False
    assert SENDCLOUD[50001].retryable is True


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (200, "success"),
        (40002, "authentication"),
        (40007, "quota"),
        *[(c, "validation") for c in (40001, 40003, 40004, 40005, 40006, 40008)],
    ],
)
def test_aotsend_categories_follow_the_issue(code, category):
    assert AOTSEND[code].category == category


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (200, "success"),
        (202, "success"),
        (400, "validation"),
        (401, "authentication"),
        (403, "permission"),
        (429, "rate_limit"),
        (500, "server"),
    ],
)
def test_cloudmails_categories_follow_the_issue(code, category):
    assert CLOUDMAILS[code].category == category


def _check(call: Any, code: int, row: Any) -> None:
    if row.category == ErrorCategory.SUCCESS:
        call()  # accepted: no error
        return
    with pytest.raises(ProviderError) as info:
        call()
    error = info.value
    assert type(error) is error_class_for(row.category)
    assert error.code == code
    assert error.retryable is row.retryable


@pytest.mark.parametrize("code", sorted(SENDCLOUD))
def test_every_sendcloud_code_raises_its_class(httpserver, sendcloud, code):
    row = SENDCLOUD[code]
    httpserver.expect_request("/apiv2/mail/send", method="POST").respond_with_json(
        {
            "result": row.category == ErrorCategory.SUCCESS,
            "statusCode": code,
            "message": row.message,
            "info": {"emailIdList": ["e1"]} if row.category == ErrorCategory.SUCCESS else {},
        }
    )
    _check(lambda: sendcloud.send(message()), code, row)


@pytest.mark.parametrize("code", sorted(AOTSEND))
def test_every_aotsend_code_raises_its_class(httpserver, aotsend, code):
    row = AOTSEND[code]
    httpserver.expect_request("/index/api/send_email", method="POST").respond_with_json(
        {"code": code, "message": row.message}
    )
    msg = message(subject=None, html=None, template="tpl-1")
    _check(lambda: aotsend.send(msg), code, row)


@pytest.mark.parametrize("code", sorted(CLOUDMAILS))
def test_every_cloudmails_code_raises_its_class(httpserver, cloudmails, code):
    row = CLOUDMAILS[code]
    answer = {"message_id": "m1"} if row.category == ErrorCategory.SUCCESS else {"message": "no"}
    httpserver.expect_request("/v1/send", method="POST").respond_with_json(answer, status=code)
    _check(lambda: cloudmails.send(message()), code, row)


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (502, mailspec.ProviderServerError, True),
        (503, mailspec.ProviderServerError, True),
        (422, mailspec.ProviderValidationError, False),
        (418, ProviderError, False),
    ],
)
def test_cloudmails_undocumented_statuses_fall_back_to_the_status_class(
    httpserver, cloudmails, status, error_class, retryable
):
    httpserver.expect_request("/v1/send", method="POST").respond_with_data(
        "<html>bad gateway</html>", status=status
    )
    with pytest.raises(ProviderError) as info:
        cloudmails.send(message())
    assert type(info.value) is error_class
    assert info.value.code == status and info.value.retryable is retryable


@pytest.mark.parametrize("name", NAMES)
def test_explain_code_reads_the_same_tables(name):
    # the spec's own table (spec.SPEC), not the generated codes module explain_code reads
    table = SPECS[name].codes
    assert table, f"{name}: the spec lists no codes"
    known = {"sendcloud": SENDCLOUD, "cloudmails": CLOUDMAILS, "aotsend": AOTSEND}
    if name in known:
        assert set(table) == set(known[name])
    for code, row in table.items():
        info = mailspec.explain_code(name, code)
        assert (info.provider, info.code) == (name, code)
        assert (info.message, info.category, info.retryable) == (
            row.message,
            row.category,
            bool(row.retryable),
        )
    assert [info.code for info in mailspec.registry.code_table(name)] == sorted(table)
    assert mailspec.explain_code(name, 999_999).category == ErrorCategory.UNKNOWN
