"""Bodies that are not a provider's events: a typed WebhookPayloadError, nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhooks_support import FORM, JSON, NOW, SECRET, form_body, json_body, signed

from mailspec import WebhookError, WebhookPayloadError
from mailspec.webhooks import ReplayGuard, parse

CLOUDMAILS_OK = {"event": "delivered", "message_id": "m", "timestamp": "2026-05-19T14:30:00Z"}

MALFORMED = [
    # (id, provider, body, headers, the error's message after "PROVIDER webhook: ")
    ("bad-utf8", "cloudmails", b'{"event": "\xff"}', JSON, "the body is not UTF-8 text"),
    ("bad-json", "cloudmails", b'{"event": ', JSON, "the body is not JSON"),
    ("json-scalar", "cloudmails", b"42", JSON, "event 0 is not an object (expected an object "
     "or a list of them)"),
    ("json-string", "cloudmails", b'"delivered"', JSON, "event 0 is not an object (expected an "
     "object or a list of them)"),
    ("array-of-non-objects", "cloudmails", json_body([CLOUDMAILS_OK, 7]), JSON, "event 1 is not "  # type: ignore[list-item]
     "an object (expected an object or a list of them)"),
    ("deep-json", "cloudmails", b"[" * 100_000, JSON, "the body is not JSON"),
    ("no-event-field", "cloudmails", b'{"message_id": "m"}', JSON, "an event has no 'event' field"),
    ("event-not-text", "cloudmails", b'{"event": 5}', JSON, "an event has no 'event' field"),
    ("form-to-json-only-provider", "cloudmails", b"event=delivered", FORM,
     "cloudmails posts json bodies, not form"),
    ("sniffed-form-to-json-only-provider", "cloudmails", b"event=delivered", {},
     "cloudmails posts json bodies, not form"),
    ("unsupported-content-type", "cloudmails", b"<xml/>", {"Content-Type": "text/xml"},
     "unsupported Content-Type 'text/xml'"),
    ("multipart", "sendcloud", b"--x--", {"Content-Type": "multipart/form-data; boundary=x"},
     "unsupported Content-Type 'multipart/form-data'"),
    ("form-not-pairs", "sendcloud", b"event", FORM, "the body is not form data"),
    ("form-bad-percent-utf8", "sendcloud", b"event=%ff", FORM, "the body is not form data"),
    ("form-field-twice", "sendcloud", b"event=deliver&event=open", FORM,
     "form field 'event' is given twice"),
    ("form-too-many-fields", "sendcloud", b"&".join(b"f%d=1" % i for i in range(1001)), FORM,
     "the body is not form data"),
    ("empty-form", "sendcloud", b"", FORM, "an event has no 'event' field"),
    ("bad-iso-timestamp", "cloudmails", json_body({**CLOUDMAILS_OK, "timestamp": "yesterday"}),
     JSON, "field 'timestamp' is not a timestamp (iso8601)"),
    ("timestamp-number-for-iso", "cloudmails", json_body({**CLOUDMAILS_OK, "timestamp": 17}),
     JSON, "field 'timestamp' is not a timestamp (iso8601)"),
    ("recipient-object", "cloudmails", json_body({**CLOUDMAILS_OK, "recipient": {"a": 1}}),
     JSON, "field 'recipient' is not text or a number"),
    ("recipient-bool", "cloudmails", json_body({**CLOUDMAILS_OK, "recipient": True}),
     JSON, "field 'recipient' is not text or a number"),
    ("metadata-list", "cloudmails", json_body({**CLOUDMAILS_OK, "custom_args": [1]}),
     JSON, "field 'custom_args' is not an object"),
    ("metadata-bad-json-text", "cloudmails", json_body({**CLOUDMAILS_OK, "custom_args": "{"}),
     JSON, "field 'custom_args' is not a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("provider", "body", "headers", "message"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_bodies_raise_a_payload_error(
    provider: str, body: bytes, headers: dict[str, str], message: str
) -> None:
    # unverified, so that an unsigned body reaches the decoding under test
    with pytest.raises(WebhookPayloadError) as info:
        parse(provider, body, headers, now=NOW, verify=False)
    assert str(info.value) == f"{provider} webhook: {message}"
    assert info.value.provider == provider
    assert isinstance(info.value, WebhookError)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b"event", b"event=a&event=b", b"{"],
    ids=["bad-utf8", "not-pairs", "field-twice", "half-json"],
)
def test_an_unreadable_body_is_a_payload_error_before_any_signature_check(
    body: bytes, guard: ReplayGuard
) -> None:
    with pytest.raises(WebhookPayloadError):
        headers = JSON if body.startswith(b"{") else FORM
        parse("sendcloud", body, headers, secret=SECRET, now=NOW, replay=guard)


def test_an_empty_json_array_holds_no_events() -> None:
    assert parse("cloudmails", b"[]", JSON) == []


def test_a_signed_event_with_a_bad_epoch_timestamp_is_a_verification_error(
    guard: ReplayGuard,
) -> None:
    event = {**signed("deliver"), "timestamp": "soon"}
    with pytest.raises(WebhookError, match="no valid timestamp"):
        parse("sendcloud", form_body(event), FORM, secret=SECRET, now=NOW, replay=guard)


# --- fuzzing: whatever the body, parse raises a WebhookError or returns events ----------

FUZZ = settings(
    deadline=None,
    derandomize=True,  # repeatable; change the examples by changing the strategies
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_keys = st.sampled_from(
    ["event", "emailId", "message_id", "recipient", "timestamp", "token", "signature",
     "subStat", "subStatDesc", "url", "userAgent", "user_agent", "custom_args", "bounce_reason"]
) | st.text(max_size=8)  # fmt: skip
_events = st.dictionaries(_keys, _values, max_size=8)
_json_bodies = st.one_of(_events, st.lists(_events, max_size=3), _values).map(
    lambda v: json.dumps(v).encode()
)
_content_types = st.sampled_from(
    [None, "application/json", "application/x-www-form-urlencoded", "text/plain", ""]
)


def _parse_all_ways(body: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    for provider, secret in (("sendcloud", SECRET), ("cloudmails", None), ("cloudmails", "s3")):
        for verify in (True, False):
            try:
                events = parse(
                    provider, body, headers, secret=secret, now=NOW, verify=verify,
                    replay=ReplayGuard(),
                )  # fmt: skip
            except WebhookError:
                continue
            assert all(e.provider == provider for e in events)


@FUZZ
@given(body=st.binary(max_size=300), content_type=_content_types)
def test_fuzz_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    _parse_all_ways(body, content_type)


@FUZZ
@given(body=_json_bodies, content_type=_content_types)
def test_fuzz_json_shaped_bodies(body: bytes, content_type: str | None) -> None:
    _parse_all_ways(body, content_type)


@FUZZ
@given(
    pairs=st.lists(st.tuples(_keys, st.text(max_size=20)), max_size=8),
    content_type=_content_types,
)
def test_fuzz_form_bodies(pairs: list[tuple[str, str]], content_type: str | None) -> None:
    from urllib.parse import urlencode

    _parse_all_ways(urlencode(pairs).encode(), content_type)
