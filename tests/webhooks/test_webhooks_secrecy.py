"""The secret never shows: not in errors, reprs or log records; and importing stays cheap."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import sys
from wsgiref.util import setup_testing_defaults

import pytest
from webhooks_support import JSON, NOW, SECRET, json_body, signed

import mailspec
from mailspec import WebhookError
from mailspec.webhooks import ReplayGuard, WebhookApp, parse

REQUESTS = [
    # (provider, body, headers, url): each one refused or accepted, every path touched
    ("sendcloud", json_body(signed("deliver")), JSON, None),
    ("sendcloud", json_body(signed("deliver", key="wrong")), JSON, None),
    ("sendcloud", json_body(signed("deliver", timestamp=NOW - 999)), JSON, None),
    ("sendcloud", json_body({**signed(), "signature": SECRET}), JSON, None),
    ("sendcloud", b"\xff", JSON, None),
    ("cloudmails", json_body({"event": "delivered"}), JSON, f"https://h/?secret={SECRET}x"),
    ("cloudmails", json_body({"event": "delivered"}), JSON, "https://h/?secret=nope"),
    ("cloudmails", json_body({"event": "delivered"}), {**JSON, "Authorization": "Basic "
     + base64.b64encode(f"u:{SECRET[:-2]}".encode()).decode()}, None),
    ("cloudmails", b"[1]", {**JSON, "Authorization": "Basic "
     + base64.b64encode(f"u:{SECRET}".encode()).decode()}, None),
]  # fmt: skip


def test_the_secret_is_in_no_error_and_no_log_record(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for provider, body, headers, url in REQUESTS:
            try:
                events = parse(
                    provider, body, headers, secret=SECRET, url=url, now=NOW, replay=ReplayGuard()
                )
                seen.extend(repr(e) for e in events)
            except WebhookError as exc:
                seen.extend([str(exc), repr(exc), repr(exc.args)])
    assert len(seen) >= len(REQUESTS)
    for text in seen + [r.getMessage() for r in caplog.records]:
        assert SECRET not in text


def test_the_app_logs_no_secret_on_any_path(caplog: pytest.LogCaptureFixture) -> None:
    def explode(event: object) -> None:
        raise RuntimeError("handler broke")

    apps = [
        WebhookApp(provider, explode, secret=SECRET, clock=lambda: float(NOW), replay=ReplayGuard())
        for provider in ("sendcloud", "cloudmails")
    ]
    statuses: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for provider, body, headers, url in REQUESTS:
            app = apps[0] if provider == "sendcloud" else apps[1]
            environ: dict[str, object] = {
                "REQUEST_METHOD": "POST",
                "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": headers.get("Content-Type", ""),
                "QUERY_STRING": url.split("?", 1)[1] if url else "",
                "wsgi.input": io.BytesIO(body),
            }
            if "Authorization" in headers:
                environ["HTTP_AUTHORIZATION"] = headers["Authorization"]
            setup_testing_defaults(environ)
            chunks = app(environ, lambda status, headers, exc=None: statuses.append(status))  # type: ignore[arg-type]
            assert SECRET.encode() not in b"".join(chunks)
    assert {s.split()[0] for s in statuses} >= {"401", "400", "500"}
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in (logging.Formatter().format(record))
    assert all(SECRET not in repr(app) for app in apps)


def test_import_mailspec_does_not_import_webhooks_or_any_provider() -> None:
    probe = (
        "import sys, mailspec\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('mailspec.webhooks',"
        " 'mailspec.generated.', 'mailspec.adapters', 'urllib3')))\n"
        "print(','.join(loaded))\n"
        "mailspec.webhooks.parse\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith("
        "('mailspec.generated.', 'mailspec.adapters', 'urllib3', 'mailspec.runtime')))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out == ["", ""], "import mailspec (and then mailspec.webhooks) stays light"


def test_the_lazy_attribute_is_the_module_and_unknown_names_still_fail() -> None:
    import mailspec.webhooks as module

    assert mailspec.webhooks is module
    assert "webhooks" in mailspec.__all__
    with pytest.raises(AttributeError):
        _ = mailspec.no_such_thing  # type: ignore[attr-defined]


def test_the_errors_are_exported_from_the_package_root() -> None:
    assert issubclass(mailspec.WebhookVerificationError, mailspec.WebhookError)
    assert issubclass(mailspec.WebhookPayloadError, mailspec.WebhookError)
    assert issubclass(mailspec.WebhookError, mailspec.MailspecError)
    assert mailspec.webhooks.WebhookError is mailspec.WebhookError
