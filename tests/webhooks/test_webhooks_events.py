"""Events built from the specs' tables: every event name, fields, reasons, encodings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import msgspec
import pytest
from spec_support import SPECS, names
from webhooks_support import (
    FORM,
    JSON,
    NOW,
    SECRET,
    form_body,
    header_signed,
    json_body,
    sign_headers,
    signed,
    spec_event,
    spec_headers,
)

import mailspec
from mailspec import BounceReason, UnsupportedOperation, ValidationError
from mailspec.vocabulary import EventType
from mailspec.webhooks import Event, ReplayGuard, parse

# Written out, not read from the specs: a change to a known spec must show up here. A
# provider without an entry here is checked against its own spec's table.
SENDCLOUD_EVENTS = {
    "request": EventType.QUEUED,
    "deliver": EventType.DELIVERED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "report_spam": EventType.COMPLAINED,
    "invalid": EventType.BOUNCED,
    "soft_bounce": EventType.SOFT_BOUNCED,
    "route": EventType.UNKNOWN,
}
KNOWN = {
    "sendcloud": SENDCLOUD_EVENTS,
    "aurorasendcloud": SENDCLOUD_EVENTS,
    "cloudmails": {
        "delivered": EventType.DELIVERED,
        "bounced": EventType.BOUNCED,
        "opened": EventType.OPENED,
        "clicked": EventType.CLICKED,
        "unsubscribed": EventType.UNSUBSCRIBED,
        "complained": EventType.COMPLAINED,
    },
}
# subStat -> the unified reason (AuroraSendCloud: Check status of emails, Sub-Status Codes
# Overview, as sendcloud.yaml maps it for the same platform)
SUB_STATES = {
    "401": BounceReason.BLACKLISTED,
    "402": BounceReason.UNSUBSCRIBED,
    "403": BounceReason.SERVER_UNREACHABLE,
    "404": BounceReason.INVALID_ADDRESS,
    "405": BounceReason.IP_OR_DOMAIN_REJECTED,
    "406": BounceReason.NO_SUCH_USER,
    "407": BounceReason.SPAM,
    "408": BounceReason.REJECTED,
    "409": BounceReason.OTHER,
    "503": BounceReason.SERVER_UNREACHABLE,
    "505": BounceReason.IP_OR_DOMAIN_REJECTED,
    "506": BounceReason.NO_SUCH_USER,
    "507": BounceReason.SPAM,
    "508": BounceReason.REJECTED,
    "509": BounceReason.OTHER,
}


def cloudmails_event(event: str = "delivered", **fields: object) -> dict[str, object]:
    """The example payload of CloudMails SMTP API Documentation, Webhook Events."""
    return {
        "event": event,
        "message_id": "msg_abc123xyz",
        "timestamp": "2026-05-19T14:30:00Z",
        "recipient": "recipient@example.com",
        "custom_args": {"user_id": "12345"},
        **fields,
    }


WITH_WEBHOOKS = names(lambda spec: spec.webhooks is not None)


def test_the_known_providers_with_webhooks_still_have_them() -> None:
    with_hooks = {
        name
        for name in mailspec.available()
        if mailspec.registry._package(name, ".spec").SPEC.webhooks is not None
    }
    assert with_hooks == set(WITH_WEBHOOKS)
    assert set(KNOWN) <= with_hooks
    assert "aotsend" not in with_hooks  # documents no webhooks


def event_body(provider: str, name: str) -> tuple[bytes, dict[str, str], str | None]:
    """A JSON body carrying one ``name`` event, its headers and the secret that
    verifies it: the hand-written payloads for the known providers, else laid out as the
    spec says (a list for a provider posting lists), signed in the headers where the
    scheme signs there."""
    hooks = SPECS[provider].webhooks
    assert hooks is not None
    secret = SECRET if hooks.signature is not None else None
    if provider == "cloudmails":
        return json_body(cloudmails_event(name)), JSON, secret
    if provider in KNOWN:
        return json_body(signed(name)), JSON, secret
    if header_signed(hooks.signature):
        assert hooks.signature is not None
        event = {hooks.fields.event: name}
        if hooks.fields.timestamp:
            event[hooks.fields.timestamp] = NOW  # type: ignore[assignment]
        body = json_body([event] if hooks.batch else event)
        headers, key = sign_headers(hooks.signature, body)
        return body, headers, key
    return json_body(spec_event(hooks, name)), {**JSON, **spec_headers(hooks)}, secret


@pytest.mark.parametrize("provider", WITH_WEBHOOKS)
def test_every_event_name_maps_to_the_expected_type(provider: str, guard: ReplayGuard) -> None:
    hooks = SPECS[provider].webhooks
    assert hooks is not None
    expected = {name: row.type for name, row in hooks.events.items()}
    assert expected, "a webhooks section lists at least one event"
    if provider in KNOWN:
        assert expected == KNOWN[provider], "the spec's event table changed"
    for name, type_ in expected.items():
        body, headers, secret = event_body(provider, name)
        (event,) = parse(provider, body, headers, secret=secret, now=NOW, replay=guard)
        assert (event.provider, event.event, event.type) == (provider, name, type_)
        assert isinstance(event.type, EventType)


@pytest.mark.parametrize("provider", WITH_WEBHOOKS)
def test_an_unknown_event_name_is_kept_with_type_unknown(provider: str, guard: ReplayGuard) -> None:
    assert "teleported" not in SPECS[provider].webhooks.events  # type: ignore[union-attr]
    body, headers, secret = event_body(provider, "teleported")
    (event,) = parse(provider, body, headers, secret=secret, now=NOW, replay=guard)
    assert (event.type, event.event) == (EventType.UNKNOWN, "teleported")


def test_a_sendcloud_form_event_in_full(guard: ReplayGuard) -> None:
    raw = signed(
        "click",
        url="https://example.com/a?b=c&d=e",
        userAgent="Mozilla/5.0 (X11)",
    )
    (event,) = parse("sendcloud", form_body(raw), FORM, secret=SECRET, now=NOW, replay=guard)
    assert event == Event(
        provider="sendcloud",
        type=EventType.CLICKED,
        event="click",
        message_id=raw["emailId"],
        recipient="ann@example.org",
        timestamp=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        url="https://example.com/a?b=c&d=e",
        user_agent="Mozilla/5.0 (X11)",
        raw={k: str(v) for k, v in raw.items()},  # a form carries text only
    )


def test_json_and_form_bodies_give_the_same_event(guard: ReplayGuard) -> None:
    raw = signed("invalid", subStat="406", subStatDesc="user unknown")
    (from_form,) = parse("sendcloud", form_body(raw), FORM, secret=SECRET, now=NOW, replay=guard)
    again = signed("invalid", subStat="406", subStatDesc="user unknown")
    (from_json,) = parse("sendcloud", json_body(again), JSON, secret=SECRET, now=NOW, replay=guard)
    strip = {"raw": {}, "message_id": None}
    assert msgspec.structs.replace(from_form, **strip) == msgspec.structs.replace(
        from_json, **strip
    )
    assert from_json.reason == BounceReason.NO_SUCH_USER


@pytest.mark.parametrize(("code", "reason"), sorted(SUB_STATES.items()))
def test_the_bounce_reason_comes_from_sub_stat_via_sub_states(
    code: str, reason: BounceReason, guard: ReplayGuard
) -> None:
    as_int = signed("soft_bounce" if code.startswith("5") else "invalid", subStat=int(code))
    (event,) = parse("sendcloud", json_body(as_int), JSON, secret=SECRET, now=NOW, replay=guard)
    assert event.reason == reason
    # no subStatDesc: the description is the sub-state table's
    spec = mailspec.registry._package("sendcloud", ".spec").SPEC
    assert event.description == spec.delivery.sub_states[code].description


def test_an_unlisted_sub_stat_gives_no_reason_but_keeps_the_text(guard: ReplayGuard) -> None:
    raw = signed("invalid", subStat="999", subStatDesc="mailbox on fire")
    (event,) = parse("sendcloud", json_body(raw), JSON, secret=SECRET, now=NOW, replay=guard)
    assert (event.type, event.reason, event.description) == (
        EventType.BOUNCED,
        None,
        "mailbox on fire",
    )
    assert event.raw["subStat"] == "999"


def test_a_cloudmails_payload_as_documented() -> None:
    (event,) = parse("cloudmails", json_body(cloudmails_event()), JSON)
    assert event == Event(
        provider="cloudmails",
        type=EventType.DELIVERED,
        event="delivered",
        message_id="msg_abc123xyz",
        recipient="recipient@example.com",
        timestamp=datetime(2026, 5, 19, 14, 30, tzinfo=UTC),
        metadata={"user_id": "12345"},
        raw=cloudmails_event(),
    )


def test_a_cloudmails_batch_and_its_bounce_reason_text() -> None:
    batch = [
        cloudmails_event("bounced", bounce_reason="550 no such user"),
        cloudmails_event("opened", user_agent="Mail/1.0", timestamp="2026-05-19T16:30:00+02:00"),
    ]
    bounced, opened = parse("cloudmails", json_body(batch), {"content-type": "application/json"})
    assert (bounced.type, bounced.description, bounced.reason) == (
        EventType.BOUNCED,
        "550 no such user",
        None,  # CloudMails gives text, not a code the spec maps
    )
    assert opened.user_agent == "Mail/1.0"
    assert opened.timestamp == datetime(2026, 5, 19, 14, 30, tzinfo=UTC)
    assert opened.timestamp.tzinfo is UTC


def test_an_iso_timestamp_without_an_offset_is_utc() -> None:
    (event,) = parse("cloudmails", json_body(cloudmails_event(timestamp="2026-05-19T14:30:00")), {})
    assert event.timestamp == datetime(2026, 5, 19, 14, 30, tzinfo=UTC)


def test_an_event_without_a_timestamp_has_none() -> None:
    raw = cloudmails_event()
    del raw["timestamp"]
    (event,) = parse("cloudmails", json_body(raw), JSON)
    assert event.timestamp is None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.cloudmails+json",
        None,  # sniffed
    ],
)
def test_content_type_variants_and_sniffing_for_json(content_type: str | None) -> None:
    headers = {"CONTENT-TYPE": content_type} if content_type else {}
    (event,) = parse("cloudmails", json_body(cloudmails_event()), headers)
    assert event.message_id == "msg_abc123xyz"


@pytest.mark.parametrize("name", ["Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"])
def test_headers_are_looked_up_case_insensitively(name: str, guard: ReplayGuard) -> None:
    body = form_body(signed("open"))
    (event,) = parse(
        "sendcloud",
        body,
        {name: "application/x-www-form-urlencoded; charset=utf-8"},
        secret=SECRET,
        now=NOW,
        replay=guard,
    )
    assert event.type == EventType.OPENED


def test_a_form_body_without_content_type_is_sniffed_as_a_form(guard: ReplayGuard) -> None:
    (event,) = parse("sendcloud", form_body(signed()), {}, secret=SECRET, now=NOW, replay=guard)
    assert event.type == EventType.DELIVERED


def test_a_str_body_is_accepted_too(guard: ReplayGuard) -> None:
    body = json.dumps(signed("open"))
    (event,) = parse("sendcloud", body, JSON, secret=SECRET, now=NOW, replay=guard)
    assert event.type == EventType.OPENED


def test_metadata_sent_as_json_text_is_decoded() -> None:
    # how an object travels in a form; the same rule holds for a JSON string
    raw = cloudmails_event(custom_args=json.dumps({"order": 1042}))
    (event,) = parse("cloudmails", json_body(raw), JSON)
    assert event.metadata == {"order": 1042}


def test_non_ascii_text_survives_form_encoding(guard: ReplayGuard) -> None:
    raw = signed("invalid", subStatDesc="邮箱不存在 (no such mailbox)")
    body = urlencode({k: str(v) for k, v in raw.items()}, encoding="utf-8").encode()
    (event,) = parse("sendcloud", body, FORM, secret=SECRET, now=NOW, replay=guard)
    assert event.description == "邮箱不存在 (no such mailbox)"


def test_unknown_providers_and_providers_without_webhooks() -> None:
    with pytest.raises(ValidationError, match="unknown provider"):
        parse("nosuch", b"{}", JSON)
    with pytest.raises(UnsupportedOperation, match="aotsend does not support webhooks"):
        parse("aotsend", b"{}", JSON)


def test_events_are_frozen_and_encode_to_json(guard: ReplayGuard) -> None:
    (event,) = parse("sendcloud", json_body(signed()), JSON, secret=SECRET, now=NOW, replay=guard)
    with pytest.raises(AttributeError):
        event.type = EventType.BOUNCED  # type: ignore[misc]
    as_json = json.loads(msgspec.json.encode(event))
    assert as_json["type"] == "delivered"
    assert as_json["timestamp"] == "2023-11-14T22:13:20Z"
