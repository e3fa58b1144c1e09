"""A base URL with user-info (``http://api:KEY@127.0.0.1:…``) is refused with a
ValidationError on ``base_url`` that never shows the secret: credentials go where the
spec's auth puts them, never in a URL that reprs and logs would name."""

from __future__ import annotations

import pytest

import mailspec
from mailspec import ValidationError
from mailspec.sandbox import SandboxServer

KEY = "mg-key-sentinel-4711"


@pytest.fixture(scope="module")
def cloudmails() -> SandboxServer:
    with SandboxServer("cloudmails") as server:
        yield server


@pytest.mark.parametrize("userinfo", [f"api:{KEY}@", f"{KEY}@", f"api:{KEY}:x@"])
def test_userinfo_in_base_url_is_refused_without_showing_it(cloudmails, userinfo) -> None:
    base_url = cloudmails.base_url.replace("http://", f"http://{userinfo}")
    with pytest.raises(ValidationError) as caught:
        mailspec.provider("cloudmails", api_key="KEY", base_url=base_url)
    assert caught.value.field == "base_url"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_userinfo_in_a_provider_urls_base_url_is_refused_too(cloudmails) -> None:
    from urllib.parse import quote

    base_url = cloudmails.base_url.replace("http://", f"http://api:{KEY}@")
    with pytest.raises(ValidationError) as caught:
        mailspec.provider_from_url(f"cloudmails://KEY@?base_url={quote(base_url, safe='')}")
    assert caught.value.field == "base_url"
    assert KEY not in str(caught.value)


def test_a_base_url_without_userinfo_still_works(cloudmails) -> None:
    provider = mailspec.provider(
        "cloudmails", base_url=cloudmails.base_url, **cloudmails.credentials
    )
    assert "@" not in repr(provider)
