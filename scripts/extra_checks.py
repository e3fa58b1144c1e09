"""What each extra promises, checked in a virtualenv where only ``mailspec[EXTRA]`` is
installed (scripts/extras-check makes it): ``python extra_checks.py EXTRA``.

Each check runs the real thing on 127.0.0.1 against the sandbox: a Celery worker
running a task through Redis, ``django-admin check`` and a ``send_mail`` with the
backend, uvicorn serving the ASGI webhook app, an OpenTelemetry SDK span from a send,
AsyncMailer sending, ``mailspec generate --check``. Exit 0 when it holds, else a
traceback or a message naming what did not. Needs redis-server on PATH for ``redis``
and ``celery``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BIN = Path(sys.executable).parent
MESSAGE = dict(
    from_email="shop@example.com", to=["ann@example.org"], subject="Hi", html="<p>Hi</p>"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of its own, persisting (AOF) as mailspec's Redis store asks."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/services installs it)")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port)
            yield f"redis://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def check_codegen() -> None:
    done = subprocess.run([BIN / "mailspec", "generate", "--check"], capture_output=True, text=True)
    assert done.returncode == 0 and "up to date" in done.stdout, done.stdout + done.stderr


def check_redis() -> None:
    import mailspec
    from mailspec import Mailer, Message
    from mailspec.sandbox import Sandbox

    with redis_server() as url, Sandbox(["cloudmails"]) as sandbox:
        mailer = Mailer([sandbox["cloudmails"].provider()], store=f"{url}/0")
        message = Message(**MESSAGE, idempotency_key="extras-redis-1")
        first, again = mailer.send(message), mailer.send(message)
        assert first.provider == "cloudmails" and again.replayed, (first, again)
        assert type(mailspec.store(f"{url}/0")).__name__ == "RedisStore"


TASKS = """\
from celery import Celery
import mailspec.celery

app = Celery("shop", broker="{url}/0", backend="{url}/2")
app.conf.broker_transport_options = {{"visibility_timeout": 120}}
send = mailspec.celery.send_task(app)
"""


def check_celery() -> None:
    """The README's tasks.py, a real worker, a task queued and its result read back."""
    from mailspec import Message
    from mailspec.sandbox import Sandbox

    with (
        redis_server() as url,
        Sandbox(["cloudmails"]) as sandbox,
        tempfile.TemporaryDirectory() as app,
    ):
        Path(app, "tasks.py").write_text(TASKS.format(url=url), encoding="utf-8")
        env = {
            **os.environ,
            "MAILSPEC_PROVIDERS": sandbox["cloudmails"].url,
            "MAILSPEC_STORE": f"{url}/1",
        }
        worker = subprocess.Popen(
            [BIN / "celery", "--quiet", "-A", "tasks", "worker", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=app, env=env,
        )  # fmt: skip
        try:
            sys.path.insert(0, app)
            import tasks  # type: ignore[import-not-found]

            import mailspec.celery

            queued = mailspec.celery.enqueue(tasks.send, Message(**MESSAGE))
            summary = queued.get(timeout=60)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert summary["provider"] == "cloudmails" and summary["message_ids"], summary
        assert len(sandbox["cloudmails"].accepted) == 1


SETTINGS = """\
SECRET_KEY = "extras-check"
INSTALLED_APPS = ["mailspec.django"]
EMAIL_BACKEND = "mailspec.django.EmailBackend"
MAILSPEC = {{"PROVIDERS": ["{url}"]}}
"""


def check_django() -> None:
    from mailspec.sandbox import Sandbox

    with Sandbox(["sendcloud"]) as sandbox, tempfile.TemporaryDirectory() as app:
        Path(app, "settings.py").write_text(SETTINGS.format(url=sandbox["sendcloud"].url))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": app}
        checked = subprocess.run(
            [BIN / "django-admin", "check"], cwd=app, env=env, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        send = (
            "from django.core.mail import send_mail; "
            "print(send_mail('Hi', 'Hi', 'shop@example.com', ['ann@example.org']))"
        )
        sent = subprocess.run(
            [BIN / "django-admin", "shell", "-c", send],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.strip().splitlines()[-1] == "1", sent.stdout  # messages sent
        assert len(sandbox["sendcloud"].accepted) == 1


def check_otel() -> None:
    """The extra alone: sends work, telemetry a no-op; with the SDK the application sets
    up (installed by extras-check after the extra), a span per send."""
    from mailspec import Mailer, Message
    from mailspec.sandbox import Sandbox

    with Sandbox(["cloudmails"]) as sandbox:
        Mailer([sandbox["cloudmails"].provider()]).send(Message(**MESSAGE))
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )
        except ImportError:
            print("otel: the extra alone sends (no SDK: telemetry does nothing)")
            return
        exporter = InMemorySpanExporter()
        tracing = TracerProvider()
        tracing.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tracing)
        Mailer([sandbox["cloudmails"].provider()]).send(Message(**MESSAGE))
    names = [span.name for span in exporter.get_finished_spans()]
    assert names.count("mailspec.send") == 1 and "mailspec.attempt" in names, names


def check_async() -> None:
    import asyncio

    import mailspec
    from mailspec import Message
    from mailspec.sandbox import Sandbox

    async def send(provider: object) -> object:
        mailer = mailspec.AsyncMailer([provider])
        try:
            return await mailer.send(Message(**MESSAGE))
        finally:
            await mailer.aclose()

    with Sandbox(["cloudmails"]) as sandbox:
        result = asyncio.run(send(sandbox["cloudmails"].provider()))
    assert result.provider == "cloudmails", result  # type: ignore[attr-defined]


APP = """\
from mailspec.webhooks.asgi import WebhookASGIApp

app = WebhookASGIApp("sendcloud", print, secret="extras-check-key")
"""


def check_asgi() -> None:
    """uvicorn (installed beside mailspec: the ASGI app needs no extra) serving the
    webhook app, answering a signed SendCloud event."""
    import urllib.request

    from run_examples import webhook_request  # beside this file

    with tempfile.TemporaryDirectory() as app:
        Path(app, "hooks.py").write_text(APP, encoding="utf-8")
        port = free_port()
        server = subprocess.Popen(
            [BIN / "uvicorn", "hooks:app", "--port", str(port), "--log-level", "warning"], cwd=app
        )
        try:
            wait_for_port(port)
            body, headers = webhook_request("sendcloud", "extras-check-key")
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/", data=body, headers=headers, method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200, answer.status
        finally:
            server.terminate()
            server.wait(timeout=10)


def check_webhooks_ecdsa() -> None:
    """An ECDSA P-256 signed webhook (SendGrid's scheme) verified, and a forged one
    refused, by mailspec's receiver with the extra's cryptography: CloudMails' events
    signed as a spec of that scheme declares."""
    import base64
    import json

    import msgspec
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    import mailspec
    from mailspec.errors import WebhookVerificationError
    from mailspec.spec_model import WebhookSignature
    from mailspec.webhooks import parse

    base = mailspec.spec("cloudmails")
    assert base.webhooks is not None
    scheme = WebhookSignature(
        scheme="ecdsa_p256",
        signed="{header:X-Timestamp}{body}",
        signature="header:X-Signature",
        timestamp="header:X-Timestamp",
        id="header:X-Signature",
    )
    hooks = msgspec.structs.replace(base.webhooks, signature=scheme)
    spec = msgspec.structs.replace(base, webhooks=hooks)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    body = json.dumps(
        {"event": "delivered", "message_id": "m-1", "recipient": "ann@example.org",
         "timestamp": "2026-12-06T00:00:00Z"}
    ).encode()  # fmt: skip
    signature = key.sign(str(now).encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": str(now),
        "X-Signature": base64.b64encode(signature).decode(),
    }
    secret = base64.b64encode(public).decode()
    (event,) = parse(spec, body, headers, secret=secret, now=now)
    assert (event.type.value, event.message_id) == ("delivered", "m-1"), event
    try:
        parse(spec, body.replace(b"m-1", b"m-2"), headers, secret=secret, now=now)
    except WebhookVerificationError:
        return
    raise SystemExit("webhooks-ecdsa: a forged body was accepted")


CHECKS: dict[str, Callable[[], None]] = {
    "codegen": check_codegen,
    "redis": check_redis,
    "celery": check_celery,
    "otel": check_otel,
    "django": check_django,
    "async": check_async,
    "asgi": check_asgi,
    "webhooks-ecdsa": check_webhooks_ecdsa,
}

if __name__ == "__main__":
    (extra,) = sys.argv[1:]
    CHECKS[extra]()
    print(f"extras-check: mailspec[{extra}] does what it promises")
