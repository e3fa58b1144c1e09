"""CloudMails signs nothing: a shared secret in basic auth or the URL stands in."""

from __future__ import annotations

import base64

import pytest
from webhooks_support import JSON, SECRET, json_body

from mailspec import WebhookVerificationError
from mailspec.webhooks import parse

BODY = json_body({"event": "delivered", "message_id": "msg_1", "timestamp": "2026-05-19T14:30:00Z"})


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {**JSON, "Authorization": f"Basic {token}"}


def test_the_secret_as_the_basic_auth_password() -> None:
    (event,) = parse("cloudmails", BODY, basic("hooks", SECRET), secret=SECRET)
    assert event.message_id == "msg_1"


def test_the_user_name_does_not_matter_and_the_header_name_is_any_case() -> None:
    token = base64.b64encode(f":{SECRET}".encode()).decode()
    assert parse("cloudmails", BODY, {"authorization": f"basic {token}"}, secret=SECRET)


def test_a_password_holding_a_colon_is_read_whole() -> None:
    secret = "pa:ss:word"
    assert parse("cloudmails", BODY, basic("u", secret), secret=secret)


def test_the_secret_in_the_url_query() -> None:
    url = f"https://hooks.example.com/cloudmails?secret={SECRET}&x=1"
    (event,) = parse("cloudmails", BODY, JSON, secret=SECRET, url=url)
    assert event.message_id == "msg_1"


def test_a_percent_encoded_secret_in_the_url() -> None:
    secret = "a b/c?d&e=f"
    url = "https://hooks.example.com/cm?secret=a%20b%2Fc%3Fd%26e%3Df"
    assert parse("cloudmails", BODY, JSON, secret=secret, url=url)


@pytest.mark.parametrize(
    ("headers", "url", "message"),
    [
        (JSON, None, "no shared secret"),
        (JSON, "https://hooks.example.com/cloudmails", "no shared secret"),
        (basic("hooks", "wrong"), None, "shared secret does not match"),
        (basic("hooks", SECRET + "x"), None, "shared secret does not match"),
        (basic("hooks", SECRET[:-1]), None, "shared secret does not match"),
        (JSON, "https://h.example.com/?secret=wrong", "shared secret does not match"),
        (JSON, f"https://h.example.com/?secret={SECRET}&secret={SECRET}", "no shared secret"),
        (JSON, f"https://h.example.com/?SECRET={SECRET}", "no shared secret"),
        ({**JSON, "Authorization": f"Bearer {SECRET}"}, None, "no shared secret"),
        ({**JSON, "Authorization": "Basic !!!not-base64"}, None, "no shared secret"),
        ({**JSON, "Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()},
         None, "no shared secret"),  # no colon: not user:password
        ({**JSON, "Authorization": "Basic ünïcode"}, None, "no shared secret"),
    ],
    ids=[
        "nothing", "url-without-secret", "wrong-password", "longer", "shorter", "wrong-in-url",
        "url-secret-twice", "url-wrong-case", "bearer-not-basic", "bad-base64", "no-colon",
        "non-ascii-header",
    ],
)  # fmt: skip
def test_a_wrong_or_missing_shared_secret_is_refused(
    headers: dict[str, str], url: str | None, message: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=message) as info:
        parse("cloudmails", BODY, headers, secret=SECRET, url=url)
    assert SECRET not in str(info.value)


def test_either_place_is_enough_when_the_other_is_wrong() -> None:
    url = f"https://h.example.com/?secret={SECRET}"
    assert parse("cloudmails", BODY, basic("hooks", "wrong"), secret=SECRET, url=url)


def test_the_secret_is_checked_before_the_body_is_read() -> None:
    # an unauthenticated sender learns nothing about what the parser accepts
    with pytest.raises(WebhookVerificationError):
        parse("cloudmails", b"\xff not even utf-8", JSON, secret=SECRET)


def test_without_a_secret_events_are_parsed_unverified() -> None:
    (event,) = parse("cloudmails", BODY, JSON)
    assert event.type == "delivered"
    # credentials a sender adds are then ignored, not checked
    assert parse("cloudmails", BODY, basic("anyone", "anything"))


def test_verify_false_ignores_the_secret() -> None:
    assert parse("cloudmails", BODY, basic("hooks", "wrong"), secret=SECRET, verify=False)
