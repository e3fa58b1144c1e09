"""Regions, base URLs, provider_from_url() and explain_code(): what a provider is
built from, checked without sending (or with one send to see the credentials arrive)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from aurora_support import SEND_PATH, message, ok_send

import mailspec
from mailspec import CodeInfo, ErrorCategory, ValidationError
from mailspec.registry import code_table

SEED_BASES = {  # AuroraSendCloud API Overview, Regional Base URLs & Endpoints
    "sg": "https://api.aurorasendcloud.com/",
    "us": "https://api-us.aurorasendcloud.com/",
    "hk": "https://api-hk.aurorasendcloud.com/",
}
SECRET = "SECRETX9"


@pytest.mark.parametrize("region", sorted(SEED_BASES))
def test_region_base_urls_are_the_seeds(region):
    p = mailspec.provider("aurorasendcloud", api_user="u", api_key="k", region=region)
    assert p.client.base_url == SEED_BASES[region]
    assert p.name == "aurorasendcloud"


def test_default_region_is_singapore():
    p = mailspec.provider("aurorasendcloud", api_user="u", api_key="k")
    assert p.client.base_url == SEED_BASES["sg"]


def test_unknown_region_names_the_choices():
    with pytest.raises(ValidationError) as info:
        mailspec.provider("aurorasendcloud", api_user="u", api_key="k", region="eu")
    text = str(info.value)
    assert "'eu'" in text
    for region in SEED_BASES:
        assert region in text
    assert info.value.field == "region"


def test_base_url_replaces_the_region_and_paths_stay_relative(httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    base = httpserver.url_for("/")
    p = mailspec.provider("aurorasendcloud", api_user="u", api_key="k", region="us", base_url=base)
    assert p.client.base_url == base
    p.send(message())
    assert [r.path for r, _ in httpserver.log] == [SEND_PATH]


def test_base_url_with_a_prefix_keeps_it(httpserver):
    httpserver.expect_request("/proxy/aurora" + SEND_PATH, method="POST").respond_with_json(
        ok_send("e1")
    )
    p = mailspec.provider(
        "aurorasendcloud", api_user="u", api_key="k", base_url=httpserver.url_for("/proxy/aurora")
    )
    assert p.send(message()).message_ids == ["e1"]
    assert [r.path for r, _ in httpserver.log] == ["/proxy/aurora" + SEND_PATH]


@pytest.mark.parametrize(
    "credentials",
    [
        {"api_user": "u"},
        {"api_key": SECRET},
        {"api_user": "u", "api_key": ""},
        {"api_user": "u", "api_key": SECRET, "apikey": SECRET + "Y"},
    ],
)
def test_wrong_credentials_are_refused_without_echoing_them(credentials):
    with pytest.raises(ValidationError) as info:
        mailspec.provider("aurorasendcloud", **credentials)
    assert "credentials" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.args)


def test_unknown_provider_is_a_validation_error():
    with pytest.raises(ValidationError) as info:
        mailspec.provider("nosuchmail", api_key="k")
    assert "aurorasendcloud" in str(info.value)  # names the known ones


# --- provider_from_url ------------------------------------------------------------------


def test_from_url_region_and_no_io():
    p = mailspec.provider_from_url("aurorasendcloud://USER:KEY@us")
    assert p.name == "aurorasendcloud"
    assert p.client.base_url == SEED_BASES["us"]
    assert (
        mailspec.provider_from_url("aurorasendcloud://USER:KEY@hk").client.base_url
        == SEED_BASES["hk"]
    )


def test_from_url_without_region_is_the_default():
    p = mailspec.provider_from_url("aurorasendcloud://USER:KEY@")
    assert p.client.base_url == SEED_BASES["sg"]


def test_from_url_credentials_reach_the_wire(httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    base = httpserver.url_for("/")
    p = mailspec.provider_from_url(f"aurorasendcloud://USER:KEY@us?base_url={base}&timeout=3")
    assert p.client.base_url == base
    p.send(message())
    form = httpserver.log[0][0].form
    assert (form["api_user"], form["api_key"]) == ("USER", "KEY")


def test_from_url_percent_encoded_credentials_decode(httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(ok_send("e1"))
    base = httpserver.url_for("/")
    url = f"aurorasendcloud://us%3Aer%20x:k%40y%2F%3A%25z%23@?base_url={base}"
    mailspec.provider_from_url(url).send(message())
    form = httpserver.log[0][0].form
    assert form["api_user"] == "us:er x"
    assert form["api_key"] == "k@y/:%z#"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"aurorasendcloud://{SECRET}@us", "credential"),
        (f"aurorasendcloud://u:v:{SECRET}@us", "credential"),
        (f"aurorasendcloud://u:{SECRET}@us?colour=red", "colour"),
        (f"aurorasendcloud://u:{SECRET}@us?timeout=abc", "timeout"),
        (f"aurorasendcloud://u:{SECRET}@us?timeout=-1", "timeout"),
        (f"aurorasendcloud://u:{SECRET}@us?timeout=0", "timeout"),
        (f"aurorasendcloud://u:{SECRET}@us?timeout=nan", "timeout"),
        (f"aurorasendcloud://u:{SECRET}@us?timeout=inf", "timeout"),
        (f"aurorasendcloud://u:{SECRET}@mars", "region"),
        (f"aurorasendcloud://u:{SECRET}@?base_url=http://example.com/", "base_url"),
        (f"aurorasendcloud://u:{SECRET}@?base_url=ftp://x.example/", "base_url"),
        (f"aurorasendcloud:u:{SECRET}", "url"),
        (f"nosuchmail://u:{SECRET}@us", "provider"),
    ],
)
def test_from_url_errors_never_contain_the_credential(url, expected):
    with pytest.raises(ValidationError) as info:
        mailspec.provider_from_url(url)
    error = info.value
    assert expected in str(error)
    for text in (str(error), repr(error), repr(error.args), repr(vars(error))):
        assert SECRET not in text


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
def test_bad_timeout_is_a_validation_error(timeout):
    with pytest.raises(ValidationError) as info:
        mailspec.provider("aurorasendcloud", api_user="u", api_key="k", timeout=timeout)
    assert info.value.field == "timeout"


# --- explain_code -------------------------------------------------------------------------


def test_explain_code_returns_the_row():
    row = mailspec.explain_code("aurorasendcloud", 40005)
    assert row == CodeInfo(
        provider="aurorasendcloud",
        code=40005,
        message="Authentication failed - verify api_user and api_key",
        category=ErrorCategory.AUTHENTICATION,
        retryable=False,
    )
    assert mailspec.explain_code("aurorasendcloud", 50000).retryable is True
    assert mailspec.explain_code("aurorasendcloud", 200).category == ErrorCategory.SUCCESS


def test_explain_code_says_which_success_reached_some_recipients_only():
    partial = mailspec.explain_code("aurorasendcloud", 311)  # the SMS codes (ASSUMED in the spec)
    assert partial.category == ErrorCategory.SUCCESS and partial.partial is True
    assert mailspec.explain_code("aurorasendcloud", 200).partial is False
    rows = code_table("aurorasendcloud")
    assert [r.code for r in rows if r.partial] == [311]


def test_the_codes_command_marks_a_partial_success():
    run = [sys.executable, "-m", "mailspec", "codes", "aurorasendcloud", "311"]
    text = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60).stdout
    assert "311" in text and "partial" in text
    as_json = subprocess.run(
        [*run, "--json"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(as_json)[0]["partial"] is True


def test_explain_code_unknown_code():
    row = mailspec.explain_code("aurorasendcloud", 99999)
    assert row.code == 99999
    assert row.category == ErrorCategory.UNKNOWN
    assert row.retryable is False


def test_explain_code_unknown_provider():
    with pytest.raises(ValidationError):
        mailspec.explain_code("nosuchmail", 40005)


# --- argument types: a ValidationError naming the argument, never a TypeError -----------


@pytest.mark.parametrize("value", [123, None, b"k", ["k"], 1.5])
def test_a_credential_of_the_wrong_type_is_a_validation_error(value):
    with pytest.raises(ValidationError) as info:
        mailspec.provider("cloudmails", api_key=value)
    assert info.value.field in ("api_key", "credentials")


@pytest.mark.parametrize("region", [5, ["us"], {"us": 1}])
def test_a_region_of_the_wrong_type_is_a_validation_error(region):
    with pytest.raises(ValidationError) as info:
        mailspec.provider("aurorasendcloud", api_user="u", api_key="k", region=region)
    assert info.value.field == "region"


@pytest.mark.parametrize("name", [5, None, ["cloudmails"]])
def test_a_provider_name_of_the_wrong_type_is_a_validation_error(name):
    with pytest.raises(ValidationError):
        mailspec.provider(name, api_key="k")


@pytest.mark.parametrize("base_url", ["http://[::1", "https://[::1/v1", 5, b"https://x.example/"])
def test_an_unparsable_base_url_is_a_validation_error(base_url):
    with pytest.raises(ValidationError) as info:
        mailspec.provider("cloudmails", api_key="k", base_url=base_url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "url", ["aurorasendcloud://u:k@[us", "aurorasendcloud://u:k@[::1", 5, None, b"x://a@b"]
)
def test_an_unparsable_provider_url_is_a_validation_error(url):
    with pytest.raises(ValidationError) as info:
        mailspec.provider_from_url(url)
    assert info.value.field == "url"
    assert "u:k" not in str(info.value)


@pytest.mark.parametrize("ids", [5, 1.5, b"id-1", {"id-1": 1}, object()])
def test_status_with_ids_of_the_wrong_type_is_a_validation_error(httpserver, ids):
    provider = mailspec.provider(
        "aurorasendcloud", api_user="u", api_key="k", base_url=httpserver.url_for("/")
    )
    with pytest.raises(ValidationError) as info:
        provider.status(ids)
    assert info.value.field == "message_ids"
    assert len(httpserver.log) == 0


def test_status_with_an_id_utf8_cannot_encode_is_a_validation_error(httpserver):
    provider = mailspec.provider(
        "sendcloud", api_user="u", api_key="k", base_url=httpserver.url_for("/")
    )
    with pytest.raises(ValidationError) as info:
        provider.status(["\ud800"])
    assert "UTF-8" in str(info.value)
    assert len(httpserver.log) == 0
