"""CloudMails on the wire (spec/cloudmails.yaml; CloudMails SMTP API Documentation): JSON bodies with a bearer
key, one recipient per message, batches, status by id, and what is refused before I/O."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from typing import Any

import pytest
from providers_support import message, only_request, requests
from werkzeug import Request, Response

import mailspec
from mailspec import (
    Attachment,
    DeliveryState,
    MalformedResponseError,
    PartialDeliveryError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
)

SEND = "/v1/send"
BATCH = "/v1/send/batch"


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def batch_ids(request: Request) -> Response:
    """Answer a batch with one id per message, numbered in order."""
    messages = json.loads(request.get_data())["messages"]
    ids = [f"msg_{m['to']}" for m in messages]
    return Response(json.dumps({"message_ids": ids}), status=202, content_type="application/json")


def test_plain_message_is_exactly_the_documented_json(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    result = cloudmails.send(message(text="Hi"))
    request = only_request(httpserver)
    assert request.method == "POST" and request.path == SEND
    assert request.headers["Authorization"] == "Bearer secret-key"
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == {
        "to": "ann@example.org",
        "from": "noreply@example.com",
        "subject": "Your order",
        "html": "<p>Hi</p>",
        "text": "Hi",
    }
    assert request.args.to_dict() == {}
    assert result.provider == "cloudmails" and result.message_ids == ["msg_1"]


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("Shop", "Shop <noreply@example.com>"),
        ("Shop, Inc.", '"Shop, Inc." <noreply@example.com>'),
        ('Say "hi"', '"Say \\"hi\\"" <noreply@example.com>'),
        ("Café", "=?utf-8?b?Q2Fmw6k=?= <noreply@example.com>"),
    ],
)
def test_a_sender_name_goes_into_from_as_one_mailbox(httpserver, cloudmails, name, sent):
    """`from` is one string (ASSUMED: a mailbox): quoted where the name holds specials,
    one RFC 2047 word where it is not ASCII."""
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    cloudmails.send(message(from_name=name))
    assert body(only_request(httpserver))["from"] == sent


def test_cc_bcc_and_reply_to(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    cloudmails.send(
        message(
            cc=["cc1@example.org", "cc2@example.org"],
            bcc=["bcc@example.org"],
            reply_to="support@example.com",
        )
    )
    sent = body(only_request(httpserver))
    assert sent["cc"] == ["cc1@example.org", "cc2@example.org"]
    assert sent["bcc"] == ["bcc@example.org"]
    assert sent["reply_to"] == "support@example.com"


def test_attachments_are_objects_with_base64_content(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    cloudmails.send(
        message(
            attachments=[
                Attachment("a.pdf", b"%PDF-1\x00\xff", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo"),
            ]
        )
    )
    sent = body(only_request(httpserver))
    assert sent["attachments"] == [
        {
            "filename": "a.pdf",
            "content": base64.b64encode(b"%PDF-1\x00\xff").decode(),
            "content_type": "application/pdf",
        },
        {
            "filename": "logo.png",
            "content": base64.b64encode(b"\x89PNG").decode(),
            "content_type": "image/png",
            "content_id": "logo",
        },
    ]


def test_tags_and_metadata_travel_in_custom_args(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    cloudmails.send(message(tags=["order", "eu"], metadata={"user_id": "12345"}))
    assert body(only_request(httpserver))["custom_args"] == {
        "user_id": "12345",
        "tags": ["order", "eu"],
    }


def test_metadata_may_not_shadow_the_tags_key(httpserver, cloudmails):
    with pytest.raises(ValidationError) as info:
        cloudmails.send(message(tags=["a"], metadata={"tags": "b"}))
    assert info.value.field == "metadata"
    assert httpserver.log == []


def test_several_recipients_go_as_one_batch_one_message_each(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_handler(batch_ids)
    result = cloudmails.send(
        message(to=["ann@example.org", "bob@example.org"], text="Hi", reply_to="r@example.com")
    )
    request = only_request(httpserver)
    assert request.headers["Authorization"] == "Bearer secret-key"
    assert request.headers["Content-Type"] == "application/json"
    common = {
        "from": "noreply@example.com",
        "subject": "Your order",
        "html": "<p>Hi</p>",
        "text": "Hi",
        "reply_to": "r@example.com",
    }
    assert body(request) == {
        "messages": [
            {"to": "ann@example.org", **common},
            {"to": "bob@example.org", **common},
        ]
    }
    assert result.message_ids == ["msg_ann@example.org", "msg_bob@example.org"]


def test_template_variables_are_substituted_per_recipient(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_handler(batch_ids)
    cloudmails.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            subject="Hello {{name}}",
            html="<p>Hi {{name}},</p><p>Order #{{order_id}} {{unknown}}</p>",
            text="Hi {{name}}",
            variables={"name": "friend", "order_id": "{{name}}"},
            recipient_variables={"ann@example.org": {"name": "Ann", "order_id": "A-1"}},
        )
    )
    ann, bob = body(only_request(httpserver))["messages"]
    assert (ann["subject"], ann["html"], ann["text"]) == (
        "Hello Ann",
        "<p>Hi Ann,</p><p>Order #A-1 {{unknown}}</p>",
        "Hi Ann",
    )
    # one pass: a value that reads like a placeholder stays as written
    assert (bob["subject"], bob["html"]) == (
        "Hello friend",
        "<p>Hi friend,</p><p>Order #{{name}} {{unknown}}</p>",
    )


def test_single_recipient_with_variables_uses_send(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "m"})
    cloudmails.send(message(subject="Hi {{name}}", variables={"name": "Zoë"}))
    assert body(only_request(httpserver))["subject"] == "Hi Zoë"


def test_a_variable_cannot_break_the_subject_line(httpserver, cloudmails):
    with pytest.raises(ValidationError) as info:
        cloudmails.send(
            message(subject="Hi {{name}}", variables={"name": "x\r\nBcc: victim@example.org"})
        )
    assert info.value.field == "variables"
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"headers": {"X-Order": "1"}}, "headers"),
        ({"template": "welcome"}, "template"),
        ({"to": ["ann@example.org", "bob@example.org"], "cc": ["c@example.org"]}, "cc"),
        ({"to": ["ann@example.org", "bob@example.org"], "bcc": ["c@example.org"]}, "bcc"),
    ],
)
def test_fields_without_a_place_are_refused_before_any_request(
    httpserver, cloudmails, overrides, field
):
    with pytest.raises(UnsupportedOperation) as info:
        cloudmails.send(message(**overrides))
    assert repr(field) in str(info.value)
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        # CloudMails SMTP API Documentation, Request Parameters: html is required
        ({"html": None, "text": "only text"}, "html"),
        ({"reply_to": ["a@example.com", "b@example.com"]}, "reply_to"),  # one address
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"to": ["not an address"]}, "to"),
    ],
)
def test_invalid_messages_are_refused_before_any_request(httpserver, cloudmails, overrides, field):
    with pytest.raises(ValidationError) as info:
        cloudmails.send(message(**overrides))
    assert info.value.field == field
    assert httpserver.log == []


def test_long_and_non_ascii_values_travel_intact(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "m"})
    subject = "Ihre Bestellung — 订单 ✓ " + "x" * 5000
    cloudmails.send(message(subject=subject, html="<p>Zoë \u202e “quoted” \\ </p>"))
    sent = body(only_request(httpserver))
    assert sent["subject"] == subject
    assert sent["html"] == "<p>Zoë \u202e “quoted” \\ </p>"


def test_send_many_batches_in_order_in_chunks_of_the_spec_limit(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_handler(batch_ids)
    messages = [message(to=[f"r{i}@example.org"]) for i in range(1000)]
    messages.insert(500, message(to=["x@example.org", "y@example.org"]))
    results = cloudmails.send_many(messages)
    sizes = [len(body(r)["messages"]) for r in requests(httpserver)]
    assert sizes == [1000, 2]
    assert len(results) == 1001
    assert results[0].message_ids == ["msg_r0@example.org"]
    assert results[500].message_ids == ["msg_x@example.org", "msg_y@example.org"]
    assert results[-1].message_ids == ["msg_r999@example.org"]
    assert all(r.provider == "cloudmails" for r in results)


def test_a_later_chunk_failing_names_who_was_reached(httpserver, cloudmails):
    httpserver.expect_ordered_request(BATCH, method="POST").respond_with_handler(batch_ids)
    httpserver.expect_ordered_request(BATCH, method="POST").respond_with_json(
        {"error": "too many requests"}, status=429
    )
    messages = [message(to=[f"r{i}@example.org"]) for i in range(1002)]
    with pytest.raises(PartialDeliveryError) as info:
        cloudmails.send_many(messages)
    error = info.value
    assert isinstance(error.cause, RateLimitError)
    assert error.sent_to == [f"r{i}@example.org" for i in range(1000)]
    assert error.pending == ["r1000@example.org", "r1001@example.org"]
    assert error.message_ids[:2] == ["msg_r0@example.org", "msg_r1@example.org"]
    assert len(error.message_ids) == 1000 and error.ambiguous


def test_a_first_chunk_failing_is_raised_as_it_is(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_json({}, status=429)
    with pytest.raises(RateLimitError):
        cloudmails.send(message(to=["ann@example.org", "bob@example.org"]))


def test_send_many_checks_every_message_before_the_first_request(httpserver, cloudmails):
    with pytest.raises(UnsupportedOperation):
        cloudmails.send_many([message(), message(headers={"X-Order": "1"})])
    assert httpserver.log == []


def test_a_batch_answer_with_the_wrong_number_of_ids_is_ambiguous(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_json({"message_ids": ["one"]})
    with pytest.raises(MalformedResponseError) as info:
        cloudmails.send(message(to=["ann@example.org", "bob@example.org"]))
    assert info.value.ambiguous is True


# --- status ------------------------------------------------------------------------


def record(message_id: str, status: str, **more: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "status": status,
        "created_at": "2026-05-19T14:00:00Z",
        **more,
    }


def test_status_asks_each_id_and_maps_every_documented_state(httpserver, cloudmails):
    answers = {
        "m1": record("m1", "sent"),
        "m2": record("m2", "delivered", delivered_at="2026-05-19T14:30:00Z"),
        "m3": record("m3", "bounced", bounce_reason="550 no such user"),
        "m4": record("m4", "failed"),
        "m5": record("m5", "deferred"),
        "m6": record("m6", "delivered", opens=2, clicks=0),
        "m7": record("m7", "delivered", opens=3, clicks=1),
        "m8": record("m8", "bounced", opens=1),
        "m9": record("m9", "something new"),
    }
    for message_id, answer in answers.items():
        httpserver.expect_request(f"/v1/emails/{message_id}", method="GET").respond_with_json(
            answer
        )
    statuses = cloudmails.status(list(answers))
    seen = requests(httpserver)
    assert [r.path for r in seen] == [f"/v1/emails/{m}" for m in answers]
    assert all(r.headers["Authorization"] == "Bearer secret-key" for r in seen)
    assert all(r.get_data() == b"" and r.args.to_dict() == {} for r in seen)
    assert [s.state for s in statuses] == [
        DeliveryState.SENDING,
        DeliveryState.DELIVERED,
        DeliveryState.BOUNCED,
        DeliveryState.FAILED,
        DeliveryState.SOFT_BOUNCED,
        DeliveryState.OPENED,
        DeliveryState.CLICKED,
        DeliveryState.BOUNCED,  # an open does not undo a bounce
        DeliveryState.UNKNOWN,
    ]
    assert [s.message_id for s in statuses] == list(answers)
    assert statuses[2].description == "550 no such user" and statuses[2].code == "bounced"
    assert statuses[1].timestamp == datetime(2026, 5, 19, 14, 30, tzinfo=UTC)
    assert statuses[0].timestamp == datetime(2026, 5, 19, 14, 0, tzinfo=UTC)  # created_at


def test_status_ids_are_escaped_into_the_path(httpserver, cloudmails):
    httpserver.expect_request("/v1/emails/a/b c", method="GET").respond_with_json(
        record("a/b c", "sent")
    )
    [status] = cloudmails.status(["a/b c"])
    assert status.message_id == "a/b c"
    raw = only_request(httpserver).environ.get("REQUEST_URI") or only_request(
        httpserver
    ).environ.get("RAW_URI")
    assert raw == "/v1/emails/a%2Fb%20c"


def test_status_filters_by_time_client_side(httpserver, cloudmails):
    httpserver.expect_request("/v1/emails/old", method="GET").respond_with_json(
        record("old", "delivered", delivered_at="2026-05-01T00:00:00Z")
    )
    httpserver.expect_request("/v1/emails/new", method="GET").respond_with_json(
        record("new", "delivered", delivered_at="2026-05-20T00:00:00Z")
    )
    statuses = cloudmails.status(["old", "new"], since=datetime(2026, 5, 10))
    assert [s.message_id for s in statuses] == ["new"]


def test_status_takes_dates_as_whole_utc_days(httpserver, cloudmails):
    """A date ``since`` counts from its start, a date ``until`` through its end, in UTC
    (as the SendCloud-style status reads them); datetimes and dates may be mixed."""
    times = {
        "before": "2026-05-09T23:59:59Z",
        "east": "2026-05-10T01:00:00+02:00",  # 2026-05-09T23:00Z: the day before, in UTC
        "first": "2026-05-10T00:00:00Z",
        "last": "2026-05-12T23:59:59.999Z",
        "after": "2026-05-13T00:00:00Z",
    }
    for message_id, when in times.items():
        httpserver.expect_request(f"/v1/emails/{message_id}", method="GET").respond_with_json(
            record(message_id, "delivered", delivered_at=when)
        )
    httpserver.expect_request("/v1/emails/undated", method="GET").respond_with_json(
        record("undated", "sent", created_at="")
    )
    ids = [*times, "undated"]

    def found(**window: Any) -> list[str]:
        return [s.message_id for s in cloudmails.status(ids, **window)]

    assert found(since=date(2026, 5, 10), until=date(2026, 5, 12)) == ["first", "last", "undated"]
    assert found(since=date(2026, 5, 10), until=date(2026, 5, 10)) == ["first", "undated"]
    assert found(since=date(2026, 5, 13)) == ["after", "undated"]
    assert found(until=date(2026, 5, 9)) == ["before", "east", "undated"]
    assert found(since=datetime(2026, 5, 12, 12), until=date(2026, 5, 12)) == ["last", "undated"]
    assert found(since=date(2026, 5, 10), until=datetime(2026, 5, 10, tzinfo=UTC)) == [
        "first",
        "undated",
    ]
    with pytest.raises(ValidationError) as info:
        cloudmails.status(ids, since=date(2026, 5, 12), until=date(2026, 5, 10))
    assert info.value.field == "since"


def test_status_of_an_unknown_id_is_not_found(httpserver, cloudmails):
    httpserver.expect_request("/v1/emails/nope", method="GET").respond_with_json(
        {"message": "not found"}, status=404
    )
    with pytest.raises(mailspec.NotFoundError) as info:
        cloudmails.status(["nope"])
    assert info.value.code == 404 and info.value.message == "not found"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((), {"since": datetime(2026, 5, 1)}), ((["m1"],), {"recipient": "a@example.org"})],
)
def test_status_without_ids_or_by_recipient_is_unsupported(httpserver, cloudmails, args, kwargs):
    with pytest.raises(UnsupportedOperation):
        cloudmails.status(*args, **kwargs)
    assert httpserver.log == []


def test_a_text_attachment_object_carries_its_charset(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    given = "text/plain; charset=iso-8859-1"
    cloudmails.send(
        message(
            attachments=[
                Attachment("utf8.txt", "grüße".encode(), "text/plain"),
                Attachment("latin1.txt", "grüße".encode("iso-8859-1"), given),
            ]
        )
    )
    objects = body(only_request(httpserver))["attachments"]
    assert [o["content_type"] for o in objects] == ["text/plain; charset=utf-8", given]


def test_a_long_non_ascii_sender_name_is_several_short_encoded_words(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    name = "Kundenservice der Größten Bäckerei Österreichs — 顧客サービス部門"
    cloudmails.send(message(from_name=name))
    sent = body(only_request(httpserver))["from"]
    words = re.findall(r"=\?utf-8\?b\?[^?]*\?=", sent)
    assert len(words) > 1 and max(map(len, words)) <= 75  # RFC 2047 2
    assert str(make_header(decode_header(sent))) == f"{name} <noreply@example.com>"


def test_provider_options_join_the_request_top_level(httpserver, cloudmails):
    httpserver.expect_request(SEND, method="POST").respond_with_json({"message_id": "msg_1"})
    cloudmails.send(
        message(
            metadata={"order": "42"},
            provider_options={
                "cloudmails": {"send_at": "2030-01-02T09:30:00Z", "custom_args": {"c": "7"}},
                "sendcloud": {"labelId": 7},  # another provider's: not sent here
            },
        )
    )
    sent = body(only_request(httpserver))
    assert sent["send_at"] == "2030-01-02T09:30:00Z"
    assert sent["custom_args"] == {"order": "42", "c": "7"}  # merged key by key
    assert "labelId" not in sent


def test_provider_options_reach_every_message_of_a_batch(httpserver, cloudmails):
    httpserver.expect_request(BATCH, method="POST").respond_with_handler(batch_ids)
    cloudmails.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            provider_options={"cloudmails": {"track": True}},
        )
    )
    assert [m["track"] for m in body(only_request(httpserver))["messages"]] == [True, True]
