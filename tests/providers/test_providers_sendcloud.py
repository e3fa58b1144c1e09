"""SendCloud v2 on the wire (spec/sendcloud.yaml; SendCloud API v2: Rules): exact requests for every
kind of message, status decoding, and what is refused before any I/O."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from providers_support import message, only_request, requests

from mailspec import (
    Attachment,
    BounceReason,
    DeliveryState,
    UnsupportedOperation,
    ValidationError,
)

SEND = "/apiv2/mail/send"
SEND_TEMPLATE = "/apiv2/mail/sendtemplate"
STATUS = "/apiv2/data/emailStatus"


def ok(*ids: str) -> dict[str, object]:
    return {
        "result": True,
        "statusCode": 200,
        "message": "请求成功",
        "info": {"emailIdList": list(ids)},
    }


def test_plain_message_is_exactly_the_documented_form(httpserver, sendcloud):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("id-1"))
    result = sendcloud.send(message(from_name="Shop"))
    request = only_request(httpserver)
    assert request.method == "POST" and request.path == SEND
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert request.form.to_dict() == {
        "apiUser": "u",
        "apiKey": "k",
        "from": "noreply@example.com",
        "fromName": "Shop",
        "to": "ann@example.org",
        "subject": "Your order",
        "html": "<p>Hi</p>",
    }
    assert result.provider == "sendcloud"
    assert result.message_ids == ["id-1"]
    assert [a.outcome for a in result.attempts] == ["accepted"]


def test_recipients_cc_bcc_reply_to_text_and_headers(httpserver, sendcloud):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("a", "b"))
    result = sendcloud.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            cc=["cc1@example.org", "cc2@example.org"],
            bcc=["bcc@example.org"],
            reply_to=["r1@example.com", "r2@example.com"],
            text="Hi",
            headers={"X-Order": "42"},
        )
    )
    form = only_request(httpserver).form
    assert form["to"] == "ann@example.org;bob@example.org"
    assert form["cc"] == "cc1@example.org;cc2@example.org"
    assert form["bcc"] == "bcc@example.org"
    assert form["replyTo"] == "r1@example.com;r2@example.com"
    assert form["plain"] == "Hi"
    assert json.loads(form["headers"]) == {"X-Order": "42"}
    assert "xsmtpapi" not in form
    assert result.message_ids == ["a", "b"]


def test_attachments_go_as_multipart_one_part_per_file(httpserver, sendcloud):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("id-1"))
    sendcloud.send(
        message(
            attachments=[
                Attachment("a.pdf", b"%PDF-1", "application/pdf"),
                Attachment("b.txt", "zoë".encode(), "text/plain"),
            ]
        )
    )
    request = only_request(httpserver)
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.form["apiUser"] == "u" and request.form["to"] == "ann@example.org"
    parts = request.files.getlist("attachments")
    assert [(p.filename, p.read(), p.mimetype) for p in parts] == [
        ("a.pdf", b"%PDF-1", "application/pdf"),
        ("b.txt", "zoë".encode(), "text/plain"),
    ]


def test_attachments_over_the_documented_size_are_refused_before_sending(httpserver, sendcloud):
    big = [Attachment("a.bin", b"a" * 6_000_000), Attachment("b.bin", b"b" * 4_485_761)]
    with pytest.raises(ValidationError) as info:
        sendcloud.send(message(attachments=big))
    assert info.value.field == "attachments" and info.value.code == 40819
    assert httpserver.log == []


def test_template_with_variables_uses_sendtemplate_and_xsmtpapi(httpserver, sendcloud):
    httpserver.expect_request(SEND_TEMPLATE, method="POST").respond_with_json(ok("t1", "t2"))
    result = sendcloud.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            subject=None,
            html=None,
            template="order_shipped",
            variables={"order": "A-1"},
            recipient_variables={"bob@example.org": {"name": "Bob"}},
        )
    )
    request = only_request(httpserver)
    assert request.path == SEND_TEMPLATE
    form = request.form.to_dict()
    xsmtpapi = json.loads(form.pop("xsmtpapi"))
    assert form == {
        "apiUser": "u",
        "apiKey": "k",
        "from": "noreply@example.com",
        "templateInvokeName": "order_shipped",
    }
    assert xsmtpapi == {
        "to": ["ann@example.org", "bob@example.org"],
        "sub": {"%name%": ["", "Bob"], "%order%": ["A-1", "A-1"]},
    }
    assert result.message_ids == ["t1", "t2"]


def test_template_without_variables_still_names_its_recipients_in_xsmtpapi(httpserver, sendcloud):
    httpserver.expect_request(SEND_TEMPLATE, method="POST").respond_with_json(ok("t1"))
    sendcloud.send(message(subject="Override", html=None, template="welcome"))
    form = only_request(httpserver).form
    assert json.loads(form["xsmtpapi"]) == {"to": ["ann@example.org"], "sub": {}}
    assert form["subject"] == "Override"
    assert "to" not in form


def test_per_recipient_variables_on_a_plain_send(httpserver, sendcloud):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("a", "b"))
    sendcloud.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            html="<p>Hi %name%, order %order%</p>",
            variables={"name": "friend", "order": "A-1"},
            recipient_variables={"ann@example.org": {"name": "Ann"}},
        )
    )
    form = only_request(httpserver).form
    assert form["to"] == "ann@example.org;bob@example.org"
    assert json.loads(form["xsmtpapi"]) == {
        "to": ["ann@example.org", "bob@example.org"],
        "sub": {"%name%": ["Ann", "friend"], "%order%": ["A-1", "A-1"]},
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"template": "welcome", "html": "<p>x</p>"}, "html"),
        ({"template": "welcome", "html": None, "text": "x"}, "text"),
    ],
)
def test_fields_without_a_place_are_refused_before_any_request(
    httpserver, sendcloud, overrides, field
):
    with pytest.raises(UnsupportedOperation) as info:
        sendcloud.send(message(**overrides))
    assert repr(field) in str(info.value)
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"from_name": "Shop\nX-Evil: 1"}, "from_name"),
        ({"subject": "x" * 256}, "subject"),
        ({"to": [f"r{i}@example.org" for i in range(101)]}, "to"),
        (
            {"reply_to": ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]},
            "reply_to",
        ),
    ],
)
def test_hostile_or_oversized_values_are_refused_before_any_request(
    httpserver, sendcloud, overrides, field
):
    with pytest.raises(ValidationError) as info:
        sendcloud.send(message(**overrides))
    assert info.value.field == field
    assert httpserver.log == []


def test_send_many_checks_every_request_before_the_first_is_sent(httpserver, sendcloud):
    """A later message the spec's request check refuses (not the Message check: a
    subject over the 255 the spec allows) stops the batch before anything is sent."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("id-1"))
    with pytest.raises(ValidationError) as info:
        sendcloud.send_many([message(), message(subject="x" * 256)])
    assert info.value.field == "subject"
    assert httpserver.log == []


def test_longest_allowed_subject_and_non_ascii_travel_intact(httpserver, sendcloud):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ok("id-1"))
    head = "Ihre Bestellung — 订单 ✓ "
    subject = head + "x" * (255 - len(head))
    sendcloud.send(message(subject=subject, from_name="Café Zoë & Søn", html="<p>ü=1&x;y</p>"))
    form = only_request(httpserver).form
    assert form["subject"] == subject
    assert form["fromName"] == "Café Zoë & Søn"
    assert form["html"] == "<p>ü=1&x;y</p>"


def _status_answer(records: list[dict[str, object]], total: int | None = None) -> dict[str, object]:
    return {
        "result": True,
        "statusCode": 200,
        "message": "请求成功",
        "info": {"total": len(records) if total is None else total, "voList": records},
    }


def test_status_by_ids_queries_and_decodes_records(httpserver, sendcloud):
    records = [
        {
            "emailId": "e1",
            "recipient": "ann@example.org",
            "status": 1,
            "modifiedTime": "2024-05-01 10:00:00",
        },
        {
            "emailId": "e2",
            "recipient": "bob@example.org",
            "status": 4,
            "subStat": 406,
            "subStatDesc": "address does not exist",
        },
        {"emailId": "e3", "recipient": "cy@example.org", "status": 5, "subStat": 503},
        {"emailId": "e4", "recipient": "di@example.org", "status": 18},
        {"emailId": "e5", "recipient": "ed@example.org", "status": 4, "subStat": 401},
    ]
    httpserver.expect_request(STATUS, method="GET").respond_with_json(_status_answer(records))
    statuses = sendcloud.status(["e1", "e2", "e3", "e4", "e5"])
    request = only_request(httpserver)
    assert request.args.to_dict() == {
        "apiUser": "u",
        "apiKey": "k",
        "days": "3",
        "emailIds": "e1;e2;e3;e4;e5",
        "start": "0",
        "limit": "100",
    }
    got = [(s.message_id, s.state, s.reason, s.recipient) for s in statuses]
    assert got == [
        ("e1", DeliveryState.DELIVERED, None, "ann@example.org"),
        ("e2", DeliveryState.BOUNCED, BounceReason.NO_SUCH_USER, "bob@example.org"),
        ("e3", DeliveryState.SOFT_BOUNCED, BounceReason.SERVER_UNREACHABLE, "cy@example.org"),
        ("e4", DeliveryState.SENDING, None, "di@example.org"),
        ("e5", DeliveryState.REJECTED, BounceReason.BLACKLISTED, "ed@example.org"),
    ]
    assert statuses[0].timestamp == datetime(2024, 5, 1, 10, 0, 0)
    assert statuses[1].description == "address does not exist"
    assert statuses[1].code == "4" and statuses[1].sub_code == "406"
    assert all(s.provider == "sendcloud" for s in statuses)


def test_status_window_is_split_into_three_day_spans(httpserver, sendcloud):
    httpserver.expect_request(STATUS, method="GET").respond_with_json(_status_answer([]))
    sendcloud.status(since=date(2024, 5, 1), until=date(2024, 5, 5))
    windows = [(r.args["startDate"], r.args["endDate"]) for r in requests(httpserver)]
    assert windows == [("2024-05-01", "2024-05-03"), ("2024-05-04", "2024-05-05")]
    assert all("days" not in r.args for r in requests(httpserver))


def test_status_pages_through_every_record(httpserver, sendcloud):
    first = [{"emailId": f"e{i}", "status": 1} for i in range(100)]
    second = [{"emailId": "e100", "status": 1}]
    httpserver.expect_ordered_request(STATUS, method="GET").respond_with_json(
        _status_answer(first, total=101)
    )
    httpserver.expect_ordered_request(STATUS, method="GET").respond_with_json(
        _status_answer(second, total=101)
    )
    statuses = sendcloud.status()
    assert len(statuses) == 101
    assert [r.args["start"] for r in requests(httpserver)] == ["0", "100"]


# --- how many requests one status() call may make --------------------------------------


@pytest.mark.parametrize("since", [date(2000, 1, 1), date(1, 1, 1)])
def test_a_window_needing_too_many_requests_is_refused_before_the_first(
    httpserver, sendcloud, since
):
    with pytest.raises(ValidationError) as info:
        sendcloud.status(since=since)
    assert info.value.field == "since"
    text = str(info.value)
    assert f"since {since.isoformat()}" in text and "max_requests (500)" in text
    assert requests(httpserver) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": date.max, "until": date.max}, "since"),
        ({"until": date.max}, "until"),
        ({"since": date(9999, 1, 1)}, "since"),
    ],
)
def test_a_window_in_the_future_is_refused_not_an_overflow(httpserver, sendcloud, kwargs, field):
    with pytest.raises(ValidationError) as info:
        sendcloud.status(**kwargs)
    assert info.value.field == field and "future" in str(info.value)
    assert requests(httpserver) == []


def test_the_first_date_there_is_is_one_window(httpserver, sendcloud):
    httpserver.expect_request(STATUS, method="GET").respond_with_json(_status_answer([]))
    assert sendcloud.status(until=date.min) == []  # the default span cannot reach before it
    (request,) = requests(httpserver)
    assert (request.args["startDate"], request.args["endDate"]) == ("0001-01-01", "0001-01-01")


def test_max_requests_bounds_the_windows(httpserver, sendcloud):
    httpserver.expect_request(STATUS, method="GET").respond_with_json(_status_answer([]))
    sendcloud.status(since=date(2024, 5, 1), until=date(2024, 5, 6), max_requests=2)
    assert len(requests(httpserver)) == 2
    with pytest.raises(ValidationError, match=r"3 windows of 3 days.*max_requests \(2\)"):
        sendcloud.status(since=date(2024, 5, 1), until=date(2024, 5, 7), max_requests=2)
    assert len(requests(httpserver)) == 2  # nothing more was asked


def test_max_requests_bounds_the_id_groups(httpserver, sendcloud):
    ids = [f"e{i}" for i in range(250)]  # three groups of at most 100
    with pytest.raises(ValidationError) as info:
        sendcloud.status(ids, max_requests=2)
    assert info.value.field == "message_ids" and "3 groups of message ids" in str(info.value)
    assert requests(httpserver) == []


def test_max_requests_bounds_the_pages(httpserver, sendcloud):
    full = [{"emailId": f"e{i}", "status": 1} for i in range(100)]
    httpserver.expect_request(STATUS, method="GET").respond_with_json(
        _status_answer(full, total=250)
    )
    with pytest.raises(ValidationError) as info:
        sendcloud.status(max_requests=2)
    assert info.value.field == "max_requests" and "more than 2 requests" in str(info.value)
    assert len(requests(httpserver)) == 2


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "10"])
def test_max_requests_must_be_a_positive_whole_number(httpserver, sendcloud, bad):
    with pytest.raises(ValidationError) as info:
        sendcloud.status(max_requests=bad)
    assert info.value.field == "max_requests"
    assert requests(httpserver) == []
