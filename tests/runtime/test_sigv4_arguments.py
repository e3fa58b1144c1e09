"""mailspec.runtime.sigv4's choices: what it signs, what it refuses, and that credentials
never show."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec import ValidationError
from mailspec.runtime.sigv4 import canonical_request, sign

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"
NOW = datetime.datetime(2026, 12, 6, 15, 4, 5, tzinfo=datetime.UTC)
URL = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"


def signed(**changes: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "headers": {"Content-Type": "application/json"},
        "body": b"{}",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
        "region": "us-east-1",
        "service": "ses",
        "session_token": TOKEN,
        "now": NOW,
    }
    arguments.update(changes)
    method, url, headers, body = (arguments.pop(k) for k in ("method", "url", "headers", "body"))
    return sign(method, url, headers, body, **arguments)


def signed_headers(authorization: str) -> str:
    return authorization.split("SignedHeaders=")[1].split(",")[0]


def test_the_headers_it_adds() -> None:
    added = signed()
    assert set(added) == {"Authorization", "X-Amz-Date", "X-Amz-Security-Token"}
    assert added["X-Amz-Date"] == "20261206T150405Z"
    assert added["X-Amz-Security-Token"] == TOKEN
    assert signed_headers(added["Authorization"]) == (
        "content-type;host;x-amz-date;x-amz-security-token"
    )
    assert "X-Amz-Security-Token" not in signed(session_token=None)


def test_an_aware_time_is_taken_in_utc_and_a_naive_one_refused() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=1))
    assert signed(now=NOW.astimezone(paris)) == signed()
    with pytest.raises(ValidationError, match="now: must carry a time zone"):
        signed(now=NOW.replace(tzinfo=None))


def test_the_time_defaults_to_now() -> None:
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    stamp = signed(now=None)["X-Amz-Date"]
    after = datetime.datetime.now(datetime.UTC)
    when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    assert before <= when <= after


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Email.US-East-1.amazonaws.com/", "email.us-east-1.amazonaws.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:80/", "example.com"),
        ("https://example.com:80/", "example.com:80"),
        ("http://127.0.0.1:8025/", "127.0.0.1:8025"),
        ("https://[::1]:8443/", "[::1]:8443"),
    ],
)
def test_host_from_the_url(url: str, host: str) -> None:
    assert f"\nhost:{host}\n" in canonical_request("GET", url, {}, b"")


def test_a_given_host_is_signed_as_given() -> None:
    text = canonical_request("GET", "https://127.0.0.1:8443/", {"Host": " proxy.example "}, b"")
    assert "\nhost:proxy.example\n" in text


def test_the_path_is_encoded_once_more() -> None:
    """The URL carries the path encoded once (a space as %20); SigV4 encodes it again."""
    text = canonical_request("GET", "https://h.example/a%20b/c%2Fd/./e/../f//%C3%A9/", {}, b"")
    assert text.split("\n")[1] == "/a%2520b/c%252Fd/f/%25C3%25A9/"


def test_the_query_is_form_decoded_then_encoded_and_sorted() -> None:
    url = "https://h.example/?b=x+y&a=%2B&a=1&c&%7e=%7E"
    assert canonical_request("GET", url, {}, b"").split("\n")[2] == "a=%2B&a=1&b=x%20y&c=&~=~"


def test_hop_by_hop_and_agent_headers_are_not_signed() -> None:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mailspec",
        "Connection": "keep-alive",
        "Transfer-Encoding": "chunked",
        "X-Amzn-Trace-Id": "Root=1",
        "Authorization": "Bearer old",
    }
    added = signed(headers=headers)
    assert signed_headers(added["Authorization"]) == (
        "content-type;host;x-amz-date;x-amz-security-token"
    )


def test_headers_it_sets_replace_those_given() -> None:
    stale = {"x-amz-date": "20000101T000000Z", "X-AMZ-SECURITY-TOKEN": "old"}
    assert signed(headers={"Content-Type": "application/json", **stale}) == signed()


def test_a_payload_hash_header_must_match_the_body() -> None:
    good = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256("{}")
    assert "x-amz-content-sha256" in signed_headers(
        signed(headers={"X-Amz-Content-Sha256": good})["Authorization"]
    )
    with pytest.raises(ValidationError, match="X-Amz-Content-Sha256"):
        signed(headers={"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})


BAD_ARGUMENTS = [
    ({"method": "post"}, "method"),
    ({"method": "GET /"}, "method"),
    ({"url": "ftp://example.com/"}, "url"),
    ({"url": "https:///path"}, "url"),
    ({"url": "https://exa\nmple.com/"}, "url"),
    ({"url": " https://example.com/"}, "url"),
    ({"url": "https://user:pw@example.com/"}, "url"),
    ({"url": "https://example.com/#part"}, "url"),
    ({"url": "https://example.com:99999/"}, "url"),
    ({"url": "https://[::1/"}, "url"),
    ({"url": "https://bücher.example/"}, "url"),
    ({"url": "https://example.com/\ud800"}, "url"),
    ({"url": b"https://example.com/"}, "url"),
    ({"headers": [("A", "b")]}, "headers"),
    ({"headers": {"Bad Name": "x"}}, "headers"),
    ({"headers": {"X-A": "one\r\nX-Injected: two"}}, "headers"),
    ({"headers": {"X-A": "caf\u00e9"}}, "headers"),
    ({"headers": {"X-A": 1}}, "headers"),
    ({"body": "{}"}, "body"),
    ({"region": "us/east-1"}, "region"),
    ({"region": ""}, "region"),
    ({"service": "ses\n"}, "service"),
    ({"access_key_id": "AKID/20260101"}, "access_key_id"),
    ({"access_key_id": ""}, "access_key_id"),
    ({"secret_access_key": ""}, "secret_access_key"),
    ({"secret_access_key": SECRET + "\udc80"}, "secret_access_key"),
    ({"secret_access_key": None}, "secret_access_key"),
    ({"session_token": TOKEN + "\n"}, "session_token"),
    ({"session_token": ""}, "session_token"),
    ({"now": "2026-12-06T15:04:05Z"}, "now"),
    ({"now": datetime.datetime.min.replace(tzinfo=datetime.timezone.max)}, "now"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_ARGUMENTS)
def test_a_bad_argument_is_a_validation_error(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        signed(**changes)
    assert caught.value.field == field
    # nothing chained that could carry a value (Python's encoding errors quote it)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize(("changes", "field"), BAD_ARGUMENTS)
def test_errors_never_show_credentials(changes: dict[str, Any], field: str) -> None:
    secret = changes.get("secret_access_key") or SECRET
    token = changes.get("session_token") or TOKEN
    with pytest.raises(ValidationError) as caught:
        signed(**{"secret_access_key": SECRET, **changes})
    shown = f"{caught.value} {caught.value!r} {caught.value.args}"
    for value in (SECRET, TOKEN, str(secret).strip(), str(token).strip()):
        assert value not in shown


def test_signing_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """The canonical request holds the session token: none of it goes to a log."""
    with caplog.at_level(logging.DEBUG):
        signed()
    assert caplog.records == []


def test_the_edges_of_time() -> None:
    east = datetime.timezone(datetime.timedelta(hours=14))
    west = datetime.timezone(-datetime.timedelta(hours=14))
    assert signed(now=datetime.datetime(1000, 1, 1, 13, tzinfo=east))["X-Amz-Date"] == (
        "09991231T230000Z"  # taken in UTC: a year of three digits, written with four
    )
    for when in (
        datetime.datetime.min.replace(tzinfo=east),
        datetime.datetime.max.replace(tzinfo=west),
    ):
        with pytest.raises(ValidationError, match="now: is out of range"):
            signed(now=when)


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)  # lone surrogates too
URLS = ANY_TEXT | ANY_TEXT.map(lambda tail: f"https://email.us-east-1.amazonaws.com/{tail}")


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    method=st.sampled_from(["POST", "GET"]) | ANY_TEXT,
    url=URLS,
    headers=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
    body=st.binary(max_size=20),
    region=st.just("us-east-1") | ANY_TEXT,
    secret=ANY_TEXT,
    token=st.none() | ANY_TEXT,
)
def test_any_input_is_signed_or_refused(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    secret: str,
    token: str | None,
) -> None:
    """Whatever comes in, sign() returns headers or raises ValidationError, and its
    text quotes neither credential (where no other argument holds the same text)."""
    try:
        added = sign(
            method,
            url,
            headers,
            body,
            access_key_id="AKIAIOSFODNN7EXAMPLE",
            secret_access_key=secret,
            region=region,
            service="ses",
            session_token=token,
            now=NOW,
        )
    except ValidationError as exc:
        shown = f"{exc} {exc!r}"
        others = f"{method} {url} {headers} {region}"
        for credential in (secret, token):
            if credential and len(credential) >= 4 and credential not in others:
                assert credential not in shown
    else:
        assert set(added) >= {"Authorization", "X-Amz-Date"}
        assert len(secret) < 8 or secret not in added["Authorization"]
