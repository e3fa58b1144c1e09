"""AOTsend on the wire (spec/aotsend.yaml; AOTsend Email API Handbook): template-only form posts with
app_key and a JSON `data`, one request per recipient, and what is refused before I/O."""

from __future__ import annotations

import json

import pytest
from providers_support import message, only_request, requests

from mailspec import (
    Attachment,
    PartialDeliveryError,
    QuotaExceededError,
    UnsupportedOperation,
    ValidationError,
)

SEND = "/index/api/send_email"
OK = {"code": 200, "message": "Request successful"}


def template_message(**overrides):
    fields = {"subject": None, "html": None, "template": "tpl-1"}
    fields.update(overrides)
    return message(**fields)


def test_template_send_is_exactly_the_documented_form(httpserver, aotsend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    result = aotsend.send(template_message())
    request = only_request(httpserver)
    assert request.method == "POST" and request.path == SEND
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert request.form.to_dict() == {
        "app_key": "app-key",
        "template_id": "tpl-1",
        "to": "ann@example.org",
    }
    assert result.provider == "aotsend" and result.message_ids == []


def test_reply_to_alias_and_variables(httpserver, aotsend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    aotsend.send(
        template_message(
            from_name="Shop",
            reply_to="support@example.com",
            variables={"name": "Jack", "address": "New York"},
        )
    )
    form = only_request(httpserver).form.to_dict()
    assert json.loads(form.pop("data")) == {"name": "Jack", "address": "New York"}
    assert form == {
        "app_key": "app-key",
        "template_id": "tpl-1",
        "to": "ann@example.org",
        "reply_to": "support@example.com",
        "alias": "Shop",
    }


def test_several_recipients_are_one_request_each_with_their_own_data(httpserver, aotsend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    aotsend.send(
        template_message(
            to=["ann@example.org", "bob@example.org", "cy@example.org"],
            variables={"name": "friend", "order": "A-1"},
            recipient_variables={
                "ann@example.org": {"name": "Ann"},
                "bob@example.org": {"name": "Bob", "order": "B-2"},
            },
        )
    )
    sent = [(r.form["to"], json.loads(r.form["data"])) for r in requests(httpserver)]
    assert sent == [
        ("ann@example.org", {"name": "Ann", "order": "A-1"}),
        ("bob@example.org", {"name": "Bob", "order": "B-2"}),
        ("cy@example.org", {"name": "friend", "order": "A-1"}),
    ]


def test_every_request_is_checked_before_the_first_is_sent(httpserver, aotsend):
    with pytest.raises(ValidationError):
        aotsend.send(
            template_message(to=["ann@example.org"], reply_to=["a@example.com", "b@example.com"])
        )
    assert httpserver.log == []


def test_a_later_recipient_failing_raises_after_the_earlier_ones_were_sent(httpserver, aotsend):
    httpserver.expect_ordered_request(SEND, method="POST").respond_with_json(OK)
    httpserver.expect_ordered_request(SEND, method="POST").respond_with_json(
        {"code": 40007, "message": "Insufficient balance"}
    )
    to = ["ann@example.org", "bob@example.org", "cy@example.org"]
    with pytest.raises(PartialDeliveryError) as info:
        aotsend.send(template_message(to=to))
    error = info.value
    assert isinstance(error.cause, QuotaExceededError) and error.cause.code == 40007
    assert (error.sent_to, error.pending) == (to[:1], to[1:])
    assert error.ambiguous  # sending it again would reach ann twice
    assert "sent to 1 of 3 recipients" in str(error)
    # the third was not tried after the second failed
    assert [r.form["to"] for r in requests(httpserver)] == to[:2]


def test_a_message_without_a_template_is_refused_naming_template(httpserver, aotsend):
    with pytest.raises(ValidationError) as info:
        aotsend.send(message())
    assert info.value.field == "template"
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "Hi"}, "subject"),
        ({"html": "<p>x</p>"}, "html"),
        ({"text": "x"}, "text"),
        ({"cc": ["c@example.org"]}, "cc"),
        ({"bcc": ["c@example.org"]}, "bcc"),
        ({"attachments": [Attachment("a.txt", b"a")]}, "attachments"),
        ({"headers": {"X-A": "1"}}, "headers"),
        ({"tags": ["t"]}, "tags"),
        ({"metadata": {"k": "v"}}, "metadata"),
    ],
)
def test_fields_without_a_place_are_refused_before_any_request(
    httpserver, aotsend, overrides, field
):
    with pytest.raises(UnsupportedOperation) as info:
        aotsend.send(template_message(**overrides))
    assert repr(field) in str(info.value)
    assert httpserver.log == []


def test_send_many_checks_every_message_before_the_first_request(httpserver, aotsend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    with pytest.raises(ValidationError) as info:
        aotsend.send_many(
            [template_message(), template_message(reply_to=["a@example.org", "b@example.org"])]
        )
    assert info.value.field == "reply_to"
    assert httpserver.log == []


def test_status_is_unsupported(httpserver, aotsend):
    with pytest.raises(UnsupportedOperation) as info:
        aotsend.status(["x"])
    assert "status" in str(info.value)
    assert aotsend.capabilities.status is False
    assert aotsend.capabilities.template_send is True
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"from_name": "Shop\r\nX-Evil: 1"}, "from_name"),
        ({"template": "tpl\n1"}, "template"),
        ({"to": ["ann@example.org;bob@example.org"]}, "to"),
    ],
)
def test_hostile_values_are_refused_before_any_request(httpserver, aotsend, overrides, field):
    with pytest.raises(ValidationError) as info:
        aotsend.send(template_message(**overrides))
    assert info.value.field == field
    assert httpserver.log == []


def test_non_ascii_and_long_values_travel_intact(httpserver, aotsend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    long_value = "订单 ✓ " * 2000
    aotsend.send(
        template_message(from_name="Café Zoë & Søn", variables={"name": "Zoë", "note": long_value})
    )
    form = only_request(httpserver).form
    assert form["alias"] == "Café Zoë & Søn"
    assert json.loads(form["data"]) == {"name": "Zoë", "note": long_value}
