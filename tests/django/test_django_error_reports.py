"""Django's own error reports (the technical 500 page and the mail AdminEmailHandler
sends to ADMINS) never show a provider's key or the store's password, for an error
raised during a send, with Django's default reporter filter and the ``MAILSPEC``
setting as users write it."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.test import RequestFactory, override_settings
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, technical_500_response
from django_support import WEBHOOK_KEY, mailspec_setting
from redis_support import RedisServer, free_port, redis_server

from mailspec import MailspecError
from mailspec.sandbox import SandboxServer

__all__ = ["redis_server"]

REDIS_USER = "mailspec-reports"
REDIS_PASSWORD = "SENTINEL-redis-password-7c2d"
WRONG_PASSWORD = "SENTINEL-redis-wrong-password-40aa"
API_KEY = "SENTINEL-api-key-e91f"
OTHER_KEY = "SENTINEL-other-key-0b3c"


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A Redis store URL with a password: an ACL user of its own on the tests' server
    (whose default user stays open for every other test)."""
    client = redis_server.client()
    client.acl_setuser(
        REDIS_USER,
        enabled=True,
        passwords=[f"+{REDIS_PASSWORD}"],
        keys=["*"],
        commands=["+@all"],
    )
    try:
        yield f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{redis_server.port}/0"
    finally:
        client.acl_deluser(REDIS_USER)
        client.close()


FAILURES = ["provider_error", "provider_down", "store_refuses_password", "store_down"]


@pytest.fixture(params=FAILURES)
def failing_setting(
    request: pytest.FixtureRequest, sendcloud: SandboxServer, redis_url: str
) -> Iterator[list[str]]:
    """``MAILSPEC`` over SendCloud with a Redis store, one of them failing the send as
    ``request.param`` says; the credentials it holds."""
    secrets = [*sendcloud.credentials.values(), REDIS_PASSWORD]
    store = redis_url
    if request.param == "provider_error":
        sendcloud.faults.queue("server_error")
    elif request.param == "provider_down":
        sendcloud.stop()
    elif request.param == "store_refuses_password":
        store = redis_url.replace(REDIS_PASSWORD, WRONG_PASSWORD)
        secrets.append(WRONG_PASSWORD)
    else:
        store = f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    with override_settings(MAILSPEC=mailspec_setting(sendcloud, STORE=store)):
        yield secrets


def failed_send() -> tuple[Any, Any, Any]:
    """The exc_info of a send that failed."""
    try:
        EmailMessage("Hi", "Hello", to=["ann@example.org"]).send()
    except (MailspecError, ImproperlyConfigured):
        return sys.exc_info()
    raise AssertionError("the send did not fail")


def assert_none_in(text: str, secrets: list[str]) -> None:
    shown = [secret for secret in secrets if secret in text]
    assert shown == [], f"{shown} in the report"


@pytest.mark.parametrize("debug", [True, False])
def test_the_technical_500_page_shows_no_credential(
    failing_setting: list[str], debug: bool
) -> None:
    request = RequestFactory().get("/checkout")
    with override_settings(DEBUG=debug):
        exc_info = failed_send()
        page = technical_500_response(request, *exc_info).content.decode()
        text = ExceptionReporter(request, *exc_info).get_traceback_text()
    shown = exc_info[0].__name__
    assert shown in page and "MAILSPEC" in page
    assert shown in text and "MAILSPEC" in text
    assert_none_in(page, failing_setting)
    assert_none_in(text, failing_setting)


@pytest.mark.parametrize("include_html", [False, True])
def test_the_admins_error_mail_shows_no_credential(
    failing_setting: list[str], include_html: bool
) -> None:
    request = RequestFactory().get("/checkout")
    handler = AdminEmailHandler(
        include_html=include_html, email_backend="django.core.mail.backends.locmem.EmailBackend"
    )
    exc_info = failed_send()
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/checkout",),
        exc_info,
    )
    record.request = request
    mail.outbox = []
    with override_settings(ADMINS=[("Ops", "ops@shop.example")]):
        handler.emit(record)
    (report,) = mail.outbox
    parts = [report.body, *(content for content, _ in report.alternatives)]
    assert exc_info[0].__name__ in report.body and "MAILSPEC" in report.body
    assert len(parts) == (2 if include_html else 1)
    for part in parts:
        assert_none_in(part, failing_setting)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PROVIDERS", [f"cloudmails://{API_KEY}@", f"nosuch://{OTHER_KEY}@"]),
        ("PROVIDERS", [f"cloudmails://{API_KEY}@?timeout=soon"]),
        ("STORE", f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0?nosuch=1"),
    ],
)
def test_a_bad_setting_reported_shows_no_credential(key: str, value: object) -> None:
    setting = {"PROVIDERS": [f"cloudmails://{API_KEY}@"], key: value}
    request = RequestFactory().get("/checkout")
    with override_settings(DEBUG=True, MAILSPEC=setting):
        exc_info = failed_send()
    page = technical_500_response(request, *exc_info).content.decode()
    assert exc_info[0] is ImproperlyConfigured
    assert f"MAILSPEC[&#x27;{key}&#x27;]" in page
    assert_none_in(page, [API_KEY, OTHER_KEY, REDIS_PASSWORD])


@pytest.mark.parametrize("failing_setting", ["provider_error"], indirect=True)
def test_the_setting_reads_as_written_and_reports_name_the_scheme_only(
    failing_setting: list[str],
) -> None:
    from django.conf import settings

    setting = settings.MAILSPEC
    store = setting["STORE"]
    assert store.startswith("redis://") and isinstance(store, str)
    assert repr(store) == "'redis://***'"
    assert [repr(url) for url in setting["PROVIDERS"]] == ["'sendcloud://***'"]
    assert "sendcloud://sandbox-" in setting["PROVIDERS"][0]  # the value itself is whole
    secret = setting["WEBHOOK_SECRETS"]["sendcloud"]
    assert repr(secret) == "'***'" and secret == WEBHOOK_KEY


# a process of its own: this one has imported mailspec.django long ago
_REPORT_AT_STARTUP = """
import sys
import django
from django.conf import settings
from django.views.debug import ExceptionReporter

settings.configure(
    DEBUG=True,
    SECRET_KEY="tests-only",
    INSTALLED_APPS=[app for app in sys.argv[1:] if app != "--import"],
    MAILSPEC={
        "PROVIDERS": ["cloudmails://SENTINEL-startup-key@"],
        "STORE": "redis://:SENTINEL-startup-pass@127.0.0.1:1/0",
    },
)
django.setup()
if "--import" in sys.argv:
    import mailspec.django
try:
    raise ValueError("a view failed before any mail was sent")
except ValueError:
    reporter = ExceptionReporter(None, *sys.exc_info())
    print(reporter.get_traceback_text(), reporter.get_traceback_html())
print("mailspec imported:", "mailspec.django" in sys.modules)
"""


def report_at_startup(*apps: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_AT_STARTUP, *apps],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_installed_as_an_app_the_setting_is_concealed_from_the_first_report() -> None:
    report = report_at_startup("mailspec.django")
    assert "mailspec imported: True" in report
    assert "cloudmails://***" in report and "redis://***" in report
    assert "SENTINEL" not in report


def test_not_installed_the_setting_is_concealed_once_mailspec_is_imported() -> None:
    report = report_at_startup("--import")
    assert "mailspec imported: True" in report
    assert "cloudmails://***" in report and "redis://***" in report
    assert "SENTINEL" not in report
