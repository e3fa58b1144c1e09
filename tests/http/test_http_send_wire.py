"""What AuroraSendCloud's send puts on the wire, and what send() returns (AuroraSendCloud
API Overview, REST API - Send an Email; the ASSUMED SendCloud-platform fields of the spec)."""

from __future__ import annotations

import json

import pytest
from aurora_support import SEND_PATH, message, ok_send
from pytest_httpserver import HTTPServer

from mailspec import Attachment, SendResult, ValidationError

FORM = "application/x-www-form-urlencoded"


def only_request(httpserver: HTTPServer):
    assert len(httpserver.log) == 1, httpserver.log
    request, _ = httpserver.log[0]
    return request


def test_minimal_message_carries_exactly_the_seed_fields(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(message())
    request = only_request(httpserver)
    assert request.method == "POST"
    assert request.path == SEND_PATH
    assert request.mimetype == FORM
    assert request.args.to_dict() == {}  # nothing in the query string: credentials in the body
    assert request.form.to_dict(flat=False) == {
        "api_user": ["u"],
        "api_key": ["k"],
        "from": ["noreply@example.com"],
        "fromName": ["Shop"],
        "to": ["ann@example.org"],
        "subject": ["Your order"],
        "html": ["<p>Hi %name%</p>"],
    }


def test_tags_and_metadata_travel_as_custom_headers(httpserver, aurora):
    """The spec's `parameter.Entry` rows: compact ASCII JSON beside the message's own
    headers, in the one `headers` form field."""
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(
        message(
            tags=["welcome", "café"],
            metadata={"order_id": "1042", "note": "ünï"},
            headers={"X-Campaign": "spring"},
        )
    )
    headers = json.loads(only_request(httpserver).form["headers"])
    assert headers == {
        "X-Campaign": "spring",
        "X-Mailspec-Tags": '["welcome","caf\\u00e9"]',
        "X-Mailspec-Metadata": '{"order_id":"1042","note":"\\u00fcn\\u00ef"}',
    }
    assert all(value.isascii() for value in headers.values())
    assert json.loads(headers["X-Mailspec-Metadata"]) == {"order_id": "1042", "note": "ünï"}


def test_send_result_carries_provider_ids_and_one_attempt(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        ok_send("1700000000000_1@ann", "1700000000000_2@bob")
    )
    result = aurora.send(message(to=["ann@example.org", "bob@example.org"]))
    assert isinstance(result, SendResult)
    assert result.provider == "aurorasendcloud"
    assert result.message_ids == ["1700000000000_1@ann", "1700000000000_2@bob"]
    assert len(result.attempts) == 1
    attempt = result.attempts[0]
    assert (attempt.provider, attempt.outcome, attempt.error) == (
        "aurorasendcloud",
        "accepted",
        None,
    )
    assert 0 <= attempt.duration < 5


def test_success_without_info_gives_no_ids(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"result": True, "statusCode": 200, "message": "ok", "info": {}}
    )
    assert aurora.send(message()).message_ids == []


def test_lists_join_with_semicolons_and_text_goes_as_plain(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(
        message(
            to=["ann@example.org", "bob@example.org"],
            cc=["c1@example.org", "c2@example.org"],
            bcc=["b1@example.org", "b2@example.org", "b3@example.org"],
            reply_to=["r1@example.org", "r2@example.org"],
            text="Hi there",
            headers={"X-Campaign": "spring", "List-Unsubscribe": "<mailto:u@example.com>"},
        )
    )
    form = only_request(httpserver).form
    assert form["to"] == "ann@example.org;bob@example.org"
    assert form["cc"] == "c1@example.org;c2@example.org"
    assert form["bcc"] == "b1@example.org;b2@example.org;b3@example.org"
    assert form["replyTo"] == "r1@example.org;r2@example.org"
    assert form["plain"] == "Hi there"
    assert form["html"] == "<p>Hi %name%</p>"
    assert json.loads(form["headers"]) == {
        "X-Campaign": "spring",
        "List-Unsubscribe": "<mailto:u@example.com>",
    }
    for absent in ("reply_to", "text", "from_email", "from_name", "xsmtpapi", "attachments"):
        assert absent not in form


def test_single_reply_to_string_and_text_only(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(message(reply_to="help@example.com", html=None, text="plain only", from_name=None))
    form = only_request(httpserver).form
    assert form["replyTo"] == "help@example.com"
    assert form["plain"] == "plain only"
    assert "html" not in form
    assert "fromName" not in form


def test_unicode_survives_the_form(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(
        message(subject="Ihre Bestellung: 订单 ✓", from_name="Café & Co", html="<p>ü=1&x</p>")
    )
    form = only_request(httpserver).form
    assert form["subject"] == "Ihre Bestellung: 订单 ✓"
    assert form["fromName"] == "Café & Co"
    assert form["html"] == "<p>ü=1&x</p>"


def test_per_recipient_variables_become_xsmtpapi(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1", "e2", "e3"))
    aurora.send(
        message(
            to=["ann@example.org", "bob@example.org", "cy@example.org"],
            variables={"shop": "Acme", "name": "friend"},
            recipient_variables={
                "ann@example.org": {"name": "Ann", "code": "A1"},
                "bob@example.org": {"name": "Bob"},
            },
        )
    )
    form = only_request(httpserver).form
    assert json.loads(form["xsmtpapi"]) == {
        "to": ["ann@example.org", "bob@example.org", "cy@example.org"],
        "sub": {
            "%code%": ["A1", "", ""],
            "%name%": ["Ann", "Bob", "friend"],
            "%shop%": ["Acme", "Acme", "Acme"],
        },
    }
    assert form["to"] == "ann@example.org;bob@example.org;cy@example.org"


def test_attachments_go_multipart_one_part_per_file(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    aurora.send(
        message(
            cc=["c1@example.org", "c2@example.org"],
            attachments=[
                Attachment("invoice.pdf", pdf, "application/pdf"),
                Attachment("notes.txt", "grüße\r\n".encode(), "text/plain; charset=utf-8"),
                Attachment("résumé.bin", b"\x00\x01\xff"),
            ],
        )
    )
    request = only_request(httpserver)
    assert request.mimetype == "multipart/form-data"
    assert request.form.to_dict(flat=False) == {
        "api_user": ["u"],
        "api_key": ["k"],
        "from": ["noreply@example.com"],
        "fromName": ["Shop"],
        "to": ["ann@example.org"],
        "cc": ["c1@example.org;c2@example.org"],
        "subject": ["Your order"],
        "html": ["<p>Hi %name%</p>"],
    }
    assert list(request.files) == ["attachments"]
    parts = request.files.getlist("attachments")
    assert [(p.filename, p.content_type) for p in parts] == [
        ("invoice.pdf", "application/pdf"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("résumé.bin", "application/octet-stream"),
    ]
    assert [p.read() for p in parts] == [pdf, "grüße\r\n".encode(), b"\x00\x01\xff"]


def test_attachments_up_to_the_limit_are_sent(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    half = 10485760 // 2
    aurora.send(
        message(attachments=[Attachment("a.bin", b"a" * half), Attachment("b.bin", b"b" * half)])
    )
    parts = only_request(httpserver).files.getlist("attachments")
    assert [len(p.read()) for p in parts] == [half, half]


def test_exactly_the_limits_are_accepted(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    to = [f"user{i}@example.org" for i in range(100)]
    reply_to = ["r1@example.org", "r2@example.org", "r3@example.org"]
    aurora.send(message(to=to, reply_to=reply_to))
    form = only_request(httpserver).form
    assert form["to"].split(";") == to
    assert form["replyTo"].split(";") == reply_to


def test_headers_of_the_http_request(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(message())
    request = only_request(httpserver)
    assert "Authorization" not in request.headers  # AuroraSendCloud authenticates in the body
    assert request.headers["User-Agent"].startswith("mailspec")
    assert request.headers["Accept"] == "application/json"
    assert int(request.headers["Content-Length"]) == len(request.get_data())


def test_a_text_attachment_without_a_charset_carries_utf8_in_its_part(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(
        message(
            attachments=[
                Attachment("notes.txt", "grüße".encode(), "text/plain"),
                Attachment("old.txt", "grüße".encode("cp1252"), "text/plain"),
            ]
        )
    )
    parts = only_request(httpserver).files.getlist("attachments")
    # UTF-8 bytes declare it; other bytes are sent as given, no charset guessed
    assert [p.content_type for p in parts] == ["text/plain; charset=utf-8", "text/plain"]


def test_provider_options_join_the_form(httpserver, aurora):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    aurora.send(
        message(
            headers={"X-Order": "42"},
            provider_options={
                "aurorasendcloud": {
                    "sendTime": "2030-01-02 09:30:00",  # no parameter: sent as given
                    "filter": {"open": 1},  # an object, as JSON
                    "headers": {"X-Campaign": "spring"},  # merged into the message's own
                }
            },
        )
    )
    form = only_request(httpserver).form
    assert form["sendTime"] == "2030-01-02 09:30:00"
    assert json.loads(form["filter"]) == {"open": 1}
    assert json.loads(form["headers"]) == {"X-Order": "42", "X-Campaign": "spring"}


def test_provider_options_may_not_replace_the_credentials(httpserver, aurora):
    with pytest.raises(ValidationError) as refused:
        aurora.send(message(provider_options={"aurorasendcloud": {"api_key": "other"}}))
    assert refused.value.field == "provider_options"
    assert refused.value.provider_rule
    assert len(httpserver.log) == 0
