"""status(): the emailStatus query (AuroraSendCloud: Check status of emails), its 3-day windows, its pages, and the
mapping of records into the unified states and reasons."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from aurora_support import STATUS_PATH, failure, ok_status
from werkzeug import Request, Response

from mailspec import (
    AuthenticationError,
    BounceReason,
    DeliveryState,
    DeliveryStatus,
    ProviderServerError,
    RateLimitError,
)


def _args(httpserver) -> list[dict[str, str]]:
    return [request.args.to_dict() for request, _ in httpserver.log]


def test_status_by_id_queries_the_last_three_days(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH, method="GET").respond_with_json(
        ok_status([{"emailId": "id1", "status": 1}], total=1)
    )
    aurora.status(["id1"])
    [request] = [r for r, _ in httpserver.log]
    assert request.method == "GET"
    assert request.path == STATUS_PATH
    assert request.get_data() == b""
    assert request.args.to_dict(flat=False) == {
        "api_user": ["u"],
        "api_key": ["k"],
        "days": ["3"],
        "emailIds": ["id1"],
        "start": ["0"],
        "limit": ["100"],
    }


def test_several_ids_join_with_semicolons(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    assert aurora.status(["id1", "id2", "id3"]) == []
    assert _args(httpserver)[0]["emailIds"] == "id1;id2;id3"


def test_more_ids_than_one_query_takes_are_chunked(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    ids = [f"id{i}" for i in range(150)]
    aurora.status(ids)
    sent = [a["emailIds"].split(";") for a in _args(httpserver)]
    assert sent == [ids[:100], ids[100:]]


def test_long_window_is_split_into_three_day_spans(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 8))
    args = _args(httpserver)
    assert [(a["start_date"], a["end_date"]) for a in args] == [
        ("2026-11-01", "2026-11-03"),
        ("2026-11-04", "2026-11-06"),
        ("2026-11-07", "2026-11-08"),
    ]
    for a in args:
        assert "days" not in a
        assert "emailIds" not in a
        assert (a["start"], a["limit"], a["api_user"], a["api_key"]) == ("0", "100", "u", "k")


def test_window_from_datetimes_and_a_single_day(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    aurora.status(since=datetime(2026, 2, 27, 23, 59), until=datetime(2026, 3, 1, 0, 1))
    aurora.status(since=date(2026, 5, 5), until=date(2026, 5, 5))
    assert [(a["start_date"], a["end_date"]) for a in _args(httpserver)] == [
        ("2026-02-27", "2026-03-01"),
        ("2026-05-05", "2026-05-05"),
    ]


def test_window_and_ids_together(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    aurora.status(["a", "b"], since=date(2026, 11, 1), until=date(2026, 11, 4))
    assert [(a["start_date"], a["end_date"], a["emailIds"]) for a in _args(httpserver)] == [
        ("2026-11-01", "2026-11-03", "a;b"),
        ("2026-11-04", "2026-11-04", "a;b"),
    ]


def _paged(total: int, page_sizes: dict[int, int]):
    """A handler answering each `start` with page_sizes[start] records."""

    def handler(request: Request) -> Response:
        start = int(request.args["start"])
        count = page_sizes[start]
        records = [
            {"emailId": f"id{start + i}", "recipient": f"r{start + i}@example.org", "status": 1}
            for i in range(count)
        ]
        return Response(
            json.dumps(ok_status(records, total=total)), content_type="application/json"
        )

    return handler


def test_pages_are_followed_to_the_total(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_handler(
        _paged(250, {0: 100, 100: 100, 200: 50})
    )
    statuses = aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 3))
    assert [a["start"] for a in _args(httpserver)] == ["0", "100", "200"]
    assert {a["limit"] for a in _args(httpserver)} == {"100"}
    assert len(statuses) == 250
    assert [s.message_id for s in statuses] == [f"id{i}" for i in range(250)]


def test_total_reached_on_a_full_page_stops(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_handler(_paged(200, {0: 100, 100: 100}))
    assert len(aurora.status(["x"])) == 200
    assert [a["start"] for a in _args(httpserver)] == ["0", "100"]


def test_short_page_stops_even_without_a_total(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(
        ok_status([{"emailId": f"id{i}", "status": 1} for i in range(30)])
    )
    assert len(aurora.status(["x"])) == 30
    assert len(httpserver.log) == 1


def test_short_page_stops_even_when_the_total_says_more(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(
        ok_status([{"emailId": f"id{i}", "status": 1} for i in range(30)], total=1000)
    )
    assert len(aurora.status(["x"])) == 30
    assert len(httpserver.log) == 1


def test_every_window_is_paged(httpserver, aurora):
    def handler(request: Request) -> Response:
        start = int(request.args["start"])
        day = request.args["start_date"]
        count = 100 if start == 0 else 5
        records = [{"emailId": f"{day}-{start + i}", "status": 18} for i in range(count)]
        return Response(json.dumps(ok_status(records)), content_type="application/json")

    httpserver.expect_request(STATUS_PATH).respond_with_handler(handler)
    statuses = aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 6))
    assert [(a["start_date"], a["start"]) for a in _args(httpserver)] == [
        ("2026-11-01", "0"),
        ("2026-11-01", "100"),
        ("2026-11-04", "0"),
        ("2026-11-04", "100"),
    ]
    assert len(statuses) == 210


RECORDS = [
    {
        "emailId": "d",
        "recipient": "ann@example.org",
        "status": 1,
        "subStat": 0,
        "requestTime": "2026-11-08 10:00:00",
        "modifiedTime": "2026-11-08 10:00:05",
    },
    {
        "emailId": "s",
        "recipient": "bob@example.org",
        "status": 18,
        "modifiedTime": "2026-11-08 10:01:00",
    },
    {
        "emailId": "soft",
        "recipient": "cy@example.org",
        "status": 5,
        "subStat": 507,
        "subStatDesc": "550 spam rejected",
        "modifiedTime": "2026-11-08 10:02:00",
    },
    {
        "emailId": "black",
        "recipient": "dee@example.org",
        "status": 4,
        "subStat": 401,
        "modifiedTime": "2026-11-08 10:03:00",
    },
    {
        "emailId": "nouser",
        "recipient": "eve@example.org",
        "status": 4,
        "subStat": 406,
        "subStatDesc": "user unknown",
        "modifiedTime": "2026-11-08 10:04:00",
    },
    {"emailId": "odd", "recipient": "fay@example.org", "status": 77, "modifiedTime": "not a date"},
    {"emailId": "bare", "recipient": "gus@example.org", "status": 4},
]


@pytest.fixture
def mapped(httpserver, aurora) -> dict[str, DeliveryStatus]:
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status(RECORDS, total=len(RECORDS)))
    statuses = aurora.status([r["emailId"] for r in RECORDS])
    assert len(statuses) == len(RECORDS)
    return {s.message_id: s for s in statuses}


def test_delivered(mapped):
    s = mapped["d"]
    assert (s.state, s.reason) == (DeliveryState.DELIVERED, None)
    assert s.provider == "aurorasendcloud"
    assert s.recipient == "ann@example.org"
    assert s.code == "1"
    assert s.timestamp == datetime(2026, 11, 8, 10, 0, 5)


def test_sending(mapped):
    assert mapped["s"].state == DeliveryState.SENDING
    assert mapped["s"].timestamp == datetime(2026, 11, 8, 10, 1)


def test_soft_bounce_spam(mapped):
    s = mapped["soft"]
    assert (s.state, s.reason) == (DeliveryState.SOFT_BOUNCED, BounceReason.SPAM)
    assert (s.code, s.sub_code) == ("5", "507")
    assert s.description == "550 spam rejected"  # the provider's own text wins


def test_blacklisted_is_rejected(mapped):
    s = mapped["black"]
    assert (s.state, s.reason) == (DeliveryState.REJECTED, BounceReason.BLACKLISTED)
    assert s.sub_code == "401"
    assert s.description  # falls back to the spec's table


def test_no_such_user_bounced(mapped):
    s = mapped["nouser"]
    assert (s.state, s.reason) == (DeliveryState.BOUNCED, BounceReason.NO_SUCH_USER)
    assert s.description == "user unknown"


def test_unknown_status_is_unknown_and_bad_time_is_none(mapped):
    s = mapped["odd"]
    assert s.state == DeliveryState.UNKNOWN
    assert s.code == "77"
    assert s.timestamp is None


def test_status_without_sub_status(mapped):
    s = mapped["bare"]
    assert (s.state, s.reason, s.sub_code, s.timestamp) == (DeliveryState.BOUNCED, None, None, None)


def test_recipient_filter(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status(RECORDS, total=len(RECORDS)))
    statuses = aurora.status(["nouser"], recipient="eve@example.org")
    assert [s.message_id for s in statuses] == ["nouser"]
    assert aurora.status(["x"], recipient="nobody@example.org") == []


def test_error_answer_during_status_is_typed(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_json(
        failure(40005, "authentication failed")
    )
    with pytest.raises(AuthenticationError):
        aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 8))
    assert len(httpserver.log) == 1  # the first window's failure stops the rest


def test_rate_limit_in_a_later_window_is_typed(httpserver, aurora):
    httpserver.expect_ordered_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    httpserver.expect_ordered_request(STATUS_PATH).respond_with_json(
        failure(50000, "interface frequency limited", key="statuscode"),
        headers={"Retry-After": "1"},
    )
    with pytest.raises(RateLimitError) as info:
        aurora.status(since=date(2026, 11, 1), until=date(2026, 11, 8))
    assert info.value.retry_after == 1.0
    assert len(httpserver.log) == 2


def test_http_5xx_during_status(httpserver, aurora):
    httpserver.expect_request(STATUS_PATH).respond_with_data("Service Unavailable", status=503)
    with pytest.raises(ProviderServerError):
        aurora.status(["id1"])


def test_server_never_asked_for_more_than_the_spec_allows(httpserver, aurora):
    """Every query stays inside the limits of AuroraSendCloud: Check status of emails: span <= 3 days, limit <= 100."""
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    aurora.status(since=date(2026, 1, 1), until=date(2026, 1, 31))
    args = _args(httpserver)
    assert len(args) == 11
    for a in args:
        span = date.fromisoformat(a["end_date"]) - date.fromisoformat(a["start_date"])
        assert 0 <= span.days <= 2
        assert int(a["limit"]) <= 100
    assert args[0]["start_date"] == "2026-01-01" and args[-1]["end_date"] == "2026-01-31"
