"""SendCloud-style signed events: the HMAC, the tolerance window, the replay guard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spec_support import SPECS, names
from webhooks_support import (
    FORM,
    JSON,
    NOW,
    SECRET,
    form_body,
    header_signed,
    hmac_hex,
    json_body,
    signed,
    spec_event,
    spec_headers,
)

from mailspec import WebhookError, WebhookVerificationError
from mailspec.webhooks import DEFAULT_GUARD, ReplayGuard, parse, sign

# the specs with a signature scheme inside each event; the known ones must stay among
# them (header-signed schemes, Svix's and SendGrid's, are tested in test_webhooks_schemes
# and each provider's own tests)
PROVIDERS = names(
    lambda spec: (
        spec.webhooks is not None
        and spec.webhooks.signature is not None
        and not header_signed(spec.webhooks.signature)
        and spec.webhooks.signature.scheme != "basic_auth"  # no signature in the event
    )
)
KNOWN_SIGNING = ("sendcloud", "aurorasendcloud")


def test_the_known_signing_providers_still_sign() -> None:
    assert set(KNOWN_SIGNING) <= set(PROVIDERS)


def test_sign_matches_a_vector_computed_by_openssl() -> None:
    # printf '%s' '1700000000tok123' | openssl dgst -sha256 -hmac 'key-one'
    expected = "7221e281f2020cb05b2c60db8041dd9765e1022a50a3d8e7b533a41ec22306ca"
    assert sign("key-one", 1700000000, "tok123") == expected
    assert sign("key-one", "1700000000", "tok123") == expected
    assert hmac_hex("key-one", 1700000000, "tok123") == expected


def test_sign_refuses_a_timestamp_that_is_neither_text_nor_an_integer() -> None:
    with pytest.raises(TypeError):
        sign("k", 1.5, "t")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sign("k", True, "t")


# each provider with every body encoding its spec takes (SES through SNS: JSON only)
ENCODINGS = [
    (provider, encoding)
    for provider in PROVIDERS
    for encoding in ("form", "json")
    if encoding in SPECS[provider].webhooks.encodings  # type: ignore[union-attr]
]


@pytest.mark.parametrize(("provider", "encoding"), ENCODINGS)
def test_a_valid_signature_is_accepted(provider: str, encoding: str, guard: ReplayGuard) -> None:
    hooks = SPECS[provider].webhooks
    assert hooks is not None
    if provider in KNOWN_SIGNING:
        event = signed("deliver")  # written out: SendCloud's documented payload
    else:
        delivered = [n for n, row in hooks.events.items() if row.type == "delivered"]
        assert delivered, f"{provider}: no event of type delivered to sign"
        event = spec_event(hooks, delivered[0])
    body, headers = (form_body(event), FORM) if encoding == "form" else (json_body(event), JSON)
    headers = {**headers, **spec_headers(hooks)}
    (parsed,) = parse(provider, body, headers, secret=SECRET, now=NOW + 5, replay=guard)
    assert parsed.provider == provider
    assert parsed.type == "delivered"
    assert parsed.timestamp == datetime.fromtimestamp(NOW, UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timestamp", NOW + 1),
        ("token", "another-token"),
        ("signature", "0" * 64),
    ],
)
def test_a_tampered_signed_field_is_refused(field: str, value: object, guard: ReplayGuard) -> None:
    event = {**signed("deliver"), field: value}
    with pytest.raises(WebhookVerificationError, match="signature does not match"):
        parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


def test_a_wrong_key_is_refused(guard: ReplayGuard) -> None:
    event = signed("deliver", key="someone-elses-key")
    with pytest.raises(WebhookVerificationError, match="signature does not match"):
        parse("sendcloud", form_body(event), FORM, secret=SECRET, now=NOW, replay=guard)


def test_an_uppercase_hex_signature_is_the_same_signature(guard: ReplayGuard) -> None:
    event = signed("deliver")
    event["signature"] = event["signature"].upper()
    assert parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


@pytest.mark.parametrize("missing", ["signature", "token", "timestamp"])
def test_a_missing_signature_part_is_refused(missing: str, guard: ReplayGuard) -> None:
    event = signed("deliver")
    del event[missing]
    with pytest.raises(WebhookVerificationError, match=r"event 0: no (signature|token|valid)"):
        parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


@pytest.mark.parametrize("bad", ["", None, 12345, ["x"]])
def test_a_signature_that_is_not_text_is_refused(bad: object, guard: ReplayGuard) -> None:
    event = {**signed("deliver"), "signature": bad}
    with pytest.raises(WebhookVerificationError, match="no signature"):
        parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


def test_a_float_timestamp_is_refused_not_crashed(guard: ReplayGuard) -> None:
    event = {**signed("deliver"), "timestamp": 1700000000.5}
    with pytest.raises(WebhookVerificationError, match="no valid timestamp"):
        parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


def test_without_a_secret_a_signing_provider_refuses_everything(guard: ReplayGuard) -> None:
    with pytest.raises(WebhookVerificationError, match="no secret"):
        parse("sendcloud", json_body(signed()), JSON, now=NOW, replay=guard)
    with pytest.raises(WebhookVerificationError, match="no secret"):
        parse("sendcloud", json_body(signed()), JSON, secret="", now=NOW, replay=guard)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (86_400, False)],
)
def test_the_tolerance_window_is_300_seconds_either_way(
    offset: int, accepted: bool, guard: ReplayGuard
) -> None:
    # offset > 0: the event is older than now (stale); < 0: it is from the future
    body = json_body(signed("deliver"))
    if accepted:
        assert parse("sendcloud", body, JSON, secret=SECRET, now=NOW + offset, replay=guard)
    else:
        word = "stale" if offset > 0 else "in the future"
        with pytest.raises(WebhookVerificationError, match=f"timestamp is {word}"):
            parse("sendcloud", body, JSON, secret=SECRET, now=NOW + offset, replay=guard)


def test_tolerance_can_be_overridden(guard: ReplayGuard) -> None:
    body = json_body(signed("deliver"))
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse("sendcloud", body, JSON, secret=SECRET, now=NOW + 61, tolerance=60, replay=guard)
    assert parse("sendcloud", body, JSON, secret=SECRET, now=NOW + 61, tolerance=600, replay=guard)
    with pytest.raises(ValueError):
        parse("sendcloud", body, JSON, secret=SECRET, now=NOW, tolerance=0, replay=guard)
    with pytest.raises(ValueError):
        parse("sendcloud", body, JSON, secret=SECRET, now=float("nan"), replay=guard)


def test_now_may_be_a_datetime(guard: ReplayGuard) -> None:
    body = json_body(signed("deliver"))
    later = datetime.fromtimestamp(NOW + 400, UTC)
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse("sendcloud", body, JSON, secret=SECRET, now=later, replay=guard)
    naive_utc = datetime.fromtimestamp(NOW + 10, UTC).replace(tzinfo=None)
    assert parse("sendcloud", body, JSON, secret=SECRET, now=naive_utc, replay=guard)


def test_the_real_clock_is_the_default(guard: ReplayGuard) -> None:
    # NOW is in 2023: against the real clock it is long stale
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse("sendcloud", json_body(signed()), JSON, secret=SECRET, replay=guard)
    current = int(datetime.now(UTC).timestamp())
    assert parse(
        "sendcloud", json_body(signed(timestamp=current)), JSON, secret=SECRET, replay=guard
    )


def test_a_milliseconds_timestamp_is_read_as_milliseconds(guard: ReplayGuard) -> None:
    millis = NOW * 1000 + 250
    event = signed("deliver", timestamp=millis)
    (parsed,) = parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)
    assert parsed.timestamp == datetime.fromtimestamp(NOW + 0.25, UTC)
    # signed as sent: the millisecond digits, not seconds
    assert event["signature"] == hmac_hex(SECRET, str(millis), event["token"])
    stale = signed("deliver", timestamp=(NOW - 301) * 1000)
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse("sendcloud", form_body(stale), FORM, secret=SECRET, now=NOW, replay=guard)


def test_a_replayed_token_is_refused(guard: ReplayGuard) -> None:
    body = form_body(signed("deliver"))
    assert parse("sendcloud", body, FORM, secret=SECRET, now=NOW, replay=guard)
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse("sendcloud", body, FORM, secret=SECRET, now=NOW + 1, replay=guard)


def test_a_token_replayed_in_another_body_is_refused(guard: ReplayGuard) -> None:
    first = signed("deliver", token="shared-token")
    # the same token, validly signed again (a captured token with a new event around it)
    second = signed("open", token="shared-token")
    assert parse("sendcloud", json_body(first), JSON, secret=SECRET, now=NOW, replay=guard)
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse("sendcloud", form_body(second), FORM, secret=SECRET, now=NOW, replay=guard)


def test_tokens_are_per_provider(guard: ReplayGuard) -> None:
    event = signed("deliver", token="same-token")
    assert parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)
    assert parse("aurorasendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)


def test_a_token_twice_in_one_batch_is_a_replay(guard: ReplayGuard) -> None:
    batch = [signed("deliver", token="twice"), signed("open", token="twice")]
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse("sendcloud", json_body(batch), JSON, secret=SECRET, now=NOW, replay=guard)
    assert len(guard) == 0


def test_a_batch_with_one_bad_event_accepts_none(guard: ReplayGuard) -> None:
    good = [signed("deliver"), signed("open")]
    bad = signed("click", key="wrong-key")
    with pytest.raises(WebhookVerificationError, match="event 2: signature does not match"):
        parse("sendcloud", json_body([*good, bad]), JSON, secret=SECRET, now=NOW, replay=guard)
    assert len(guard) == 0, "no token of a refused batch may be recorded"
    # so the good events, posted again on their own, are not replays
    events = parse("sendcloud", json_body(good), JSON, secret=SECRET, now=NOW, replay=guard)
    assert [e.event for e in events] == ["deliver", "open"]
    assert len(guard) == 2


def test_a_batch_with_a_malformed_event_records_no_token(guard: ReplayGuard) -> None:
    good = signed("deliver")
    bad = signed("open", recipient={"not": "text"})  # signed fine, but unreadable
    with pytest.raises(WebhookError):
        parse("sendcloud", json_body([good, bad]), JSON, secret=SECRET, now=NOW, replay=guard)
    assert len(guard) == 0
    assert parse("sendcloud", json_body(good), JSON, secret=SECRET, now=NOW, replay=guard)


def test_the_process_wide_guard_is_used_when_none_is_passed() -> None:
    body = json_body(signed("deliver"))
    assert parse("sendcloud", body, JSON, secret=SECRET, now=NOW)
    assert len(DEFAULT_GUARD) >= 1
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse("sendcloud", body, JSON, secret=SECRET, now=NOW)


def test_verify_false_skips_every_check(guard: ReplayGuard) -> None:
    event = {**signed("deliver", key="wrong"), "timestamp": NOW - 10_000}
    body = json_body(event)
    for _ in range(2):  # and records no token
        (parsed,) = parse("sendcloud", body, JSON, now=NOW, verify=False, replay=guard)
        assert parsed.type == "delivered"
    assert len(guard) == 0


def test_the_scheme_signs_timestamp_and_token_only(guard: ReplayGuard) -> None:
    # SendCloud's documented scheme: the rest of the event is not covered, so a changed
    # recipient still verifies. Recorded here so nobody believes otherwise.
    event = {**signed("deliver"), "recipient": "mallory@example.net"}
    (parsed,) = parse("sendcloud", json_body(event), JSON, secret=SECRET, now=NOW, replay=guard)
    assert parsed.recipient == "mallory@example.net"
