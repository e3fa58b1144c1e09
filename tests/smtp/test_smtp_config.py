"""mailspec.provider(..., transport="smtp"): where it sends, what it refuses to build,
and what it refuses to send, all before any connection."""

from __future__ import annotations

import pytest
from smtp_support import PASSWORD, USER, message

import mailspec
from mailspec import Attachment, UnsupportedOperation, ValidationError
from mailspec.adapters.smtp import SmtpProvider

CREDENTIALS = {"api_user": USER, "api_key": PASSWORD}


def smtp(**options):
    return mailspec.provider("aurorasendcloud", transport="smtp", **CREDENTIALS, **options)


def test_defaults_to_the_regions_server_on_587_with_starttls():
    provider = smtp(region="us")
    assert isinstance(provider, SmtpProvider)
    assert (provider.server.host, provider.server.port) == ("smtp-us.aurorasendcloud.com", 587)
    assert provider.server.starttls
    assert provider.server.timeout == 10.0
    assert smtp().server.host == "smtp.aurorasendcloud.com"  # the spec's default region, sg


@pytest.mark.parametrize("port", [25, 2525])
def test_other_documented_ports_need_starttls_asked_for(port):
    with pytest.raises(ValidationError) as caught:
        smtp(region="hk", smtp_port=port)
    assert caught.value.field == "starttls"
    assert "unencrypted" in str(caught.value)
    provider = smtp(region="hk", smtp_port=port, starttls=True)
    assert (provider.server.port, provider.server.starttls) == (port, True)


def test_an_undocumented_port_of_the_regions_server_is_refused():
    with pytest.raises(ValidationError) as caught:
        smtp(smtp_port=465)
    assert caught.value.field == "smtp_port"
    assert "25, 2525, 587" in str(caught.value)


@pytest.mark.parametrize("host", ["192.0.2.10", "smtp.example.net", "::ffff:192.0.2.1"])
def test_no_plain_text_login_to_another_machine(host):
    with pytest.raises(ValidationError) as caught:
        smtp(smtp_host=host, smtp_port=25, starttls=False)
    assert caught.value.field == "starttls"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3"])
def test_plain_text_login_is_allowed_to_loopback(host):
    provider = smtp(smtp_host=host, smtp_port=2525)
    assert not provider.server.starttls  # 2525 is not one of the spec's STARTTLS ports


def test_timeout_applies_to_smtp_and_is_checked():
    assert smtp(timeout=2.5).server.timeout == 2.5
    for bad in (0, -1, float("nan"), float("inf"), "5", True):
        with pytest.raises(ValidationError) as caught:
            smtp(timeout=bad)
        assert caught.value.field == "timeout"


def test_an_unreadable_ca_bundle_is_refused_when_built(tmp_path):
    with pytest.raises(ValidationError) as caught:
        smtp(ca_certs=str(tmp_path / "missing.pem"))
    assert caught.value.field == "ca_certs"


@pytest.mark.parametrize(
    "options, field",
    [
        ({"transport": "ftp"}, "transport"),
        ({"smtp_host": "127.0.0.1"}, "smtp_host"),
        ({"smtp_port": 25}, "smtp_port"),
        ({"starttls": True}, "starttls"),
    ],
)
def test_http_providers_refuse_smtp_options_and_unknown_transports(options, field):
    with pytest.raises(ValidationError) as caught:
        mailspec.provider("aurorasendcloud", **CREDENTIALS, **options)
    assert caught.value.field == field


def test_bad_port_values_are_refused():
    for bad in (0, 70000, True, "587"):
        with pytest.raises(ValidationError) as caught:
            smtp(smtp_host="127.0.0.1", smtp_port=bad)
        assert caught.value.field == "smtp_port"


def test_a_provider_without_an_smtp_login_is_unsupported():
    with pytest.raises(UnsupportedOperation) as caught:
        mailspec.provider("cloudmails", api_key="k", transport="smtp")
    assert caught.value.provider == "cloudmails"
    assert "smtp" in caught.value.operation


def test_credentials_are_still_checked():
    with pytest.raises(ValidationError) as caught:
        mailspec.provider("aurorasendcloud", transport="smtp", api_user=USER)
    assert caught.value.field == "credentials"


def test_capabilities_say_what_smtp_carries():
    caps = smtp().capabilities
    assert caps.smtp and caps.send and caps.attachments and caps.cc_bcc
    assert caps.recipient_variables and caps.status
    assert not caps.template_send and not caps.batch and not caps.sms


# --- messages refused before any connection (the server must see nothing) ------------


@pytest.mark.parametrize(
    "overrides, error, field",
    [
        ({"to": ["not-an-address"]}, ValidationError, "to"),
        ({"subject": "two\r\nlines"}, ValidationError, "subject"),
        ({"headers": {"Bcc": "spy@example.net"}}, ValidationError, "headers[Bcc]"),
        ({"headers": {"subject": "again"}}, ValidationError, "headers[subject]"),
        (
            {"attachments": [Attachment("a.bin", b"x", "not a type")]},
            ValidationError,
            "attachments.content_type",
        ),
        ({"variables": {"v": "x" * 2000}}, ValidationError, "variables"),
        ({"html": "<p>\ud800</p>"}, ValidationError, "html"),
        ({"template": "welcome"}, UnsupportedOperation, "template"),
        ({"tags": ["spring"]}, UnsupportedOperation, "tags"),
        ({"metadata": {"order": "1"}}, UnsupportedOperation, "metadata"),
        ({"to": ["jürgen@example.org"]}, UnsupportedOperation, "to"),
    ],
)
def test_refused_before_any_connection(plain_server, make_provider, overrides, error, field):
    provider = make_provider(plain_server)
    with pytest.raises(error) as caught:
        provider.send(message(**overrides))
    described = getattr(caught.value, "field", None) or caught.value.operation
    assert field in described
    recorder = plain_server.recorder
    assert recorder.ehlo_names == [] and recorder.content_seen == []


def test_send_many_checks_every_message_before_sending_any(plain_server, make_provider):
    provider = make_provider(plain_server)
    with pytest.raises(UnsupportedOperation):
        provider.send_many([message(), message(tags=["x"])])
    assert plain_server.recorder.ehlo_names == []


def test_a_provider_url_can_name_the_smtp_transport(plain_server):
    url = (
        f"aurorasendcloud+smtp://{USER}:{PASSWORD}@us"
        f"?smtp_host=127.0.0.1&smtp_port={plain_server.port}&timeout=3"
    )
    provider = mailspec.provider_from_url(url)
    assert isinstance(provider, SmtpProvider)
    assert (provider.server.host, provider.server.port) == ("127.0.0.1", plain_server.port)
    provider.send(message())
    assert len(plain_server.recorder.accepted) == 1
    # the region alone gives the documented server and port
    remote = mailspec.provider_from_url(f"aurorasendcloud+smtp://{USER}:{PASSWORD}@us")
    assert (remote.server.host, remote.server.port) == ("smtp-us.aurorasendcloud.com", 587)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"aurorasendcloud+ftp://{USER}:{PASSWORD}@us", "PROVIDER[+smtp]://"),
        (f"aurorasendcloud+smtp://{USER}:{PASSWORD}@us?smtp_port=x", "smtp_port: expected"),
        (f"aurorasendcloud://{USER}:{PASSWORD}@us?smtp_port=25", "unknown option(s) smtp_port"),
        (f"cloudmails+smtp://{PASSWORD}@eu", "does not support transport='smtp'"),
    ],
)
def test_bad_smtp_provider_urls_are_refused_without_echoing_them(url, expected):
    with pytest.raises((ValidationError, UnsupportedOperation)) as info:
        mailspec.provider_from_url(url)
    assert expected in str(info.value)
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("aurorasendcloud+smtp://\ud800:key-xyz@us", "api_user"),  # found by test_fuzz_api
        ("aurorasendcloud+smtp://user-xyz:k\udfffey@us", "api_key"),
    ],
)
def test_an_smtp_login_utf8_cannot_encode_is_a_validation_error(url, field):
    with pytest.raises(ValidationError) as info:
        mailspec.provider_from_url(url)
    assert info.value.field == field
    assert "cannot be encoded as UTF-8" in str(info.value)
    assert "xyz" not in str(info.value)
