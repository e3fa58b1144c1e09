"""``mailspec suppressions`` and ``mailspec redeliver`` as a user runs them: a process of
their own, configured by MAILSPEC_* variables, on the SQLite store the application's
Mailer uses, against sandboxes over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from delivery_support import message

from mailspec import Mailer, Suppressed
from mailspec.sandbox import SandboxServer


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailspec", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def sandboxes():
    a, b = SandboxServer("cloudmails").start(), SandboxServer("aurorasendcloud").start()
    yield a, b
    a.stop()
    b.stop()


def _env(tmp_path: Path, a: SandboxServer, b: SandboxServer, **more: str) -> dict[str, str]:
    return {
        "MAILSPEC_PROVIDERS": f"{a.url} {b.url}",
        "MAILSPEC_STORE": f"sqlite:///{tmp_path / 'state.db'}",
        **more,
    }


def test_suppressions_add_list_remove(tmp_path: Path, sandboxes) -> None:
    a, b = sandboxes
    env = _env(tmp_path, a, b)
    added = _cli(env, "suppressions", "add", "Ivy@Example.org", "--reason", "asked us")
    assert added.returncode == 0, added.stderr
    listed = _cli(env, "suppressions", "list")
    assert listed.stdout.startswith("ivy@example.org  asked us  -  ")
    app = Mailer.from_env(env)  # the application, on the same store
    with pytest.raises(Suppressed):
        app.send(message("ivy@example.org"))
    assert (a.requests, b.requests) == (0, 0)
    assert _cli(env, "suppressions", "remove", "ivy@example.org").returncode == 0
    again = _cli(env, "suppressions", "remove", "ivy@example.org")
    assert again.returncode == 1 and "not suppressed: ivy@example.org" in again.stderr
    assert _cli(env, "suppressions", "list", "--json").stdout.strip() == "[]"


def test_suppressions_need_a_shared_store(sandboxes) -> None:
    a, _b = sandboxes
    done = _cli({"MAILSPEC_PROVIDERS": a.url, "MAILSPEC_STORE": ""}, "suppressions", "list")
    assert done.returncode == 2 and "MAILSPEC_STORE" in done.stderr


def test_suppressions_sync_reads_the_providers_status_records(tmp_path: Path, sandboxes) -> None:
    a, b = sandboxes
    env = _env(tmp_path, a, b)
    b.set_outcome("bounced", sub_status="406")
    Mailer([b.provider()]).send(message("jon@example.org"))  # no webhook heard it
    done = _cli(env, "suppressions", "sync")
    assert done.returncode == 0, done.stderr
    assert "aurorasendcloud: 1 added from " in done.stdout
    # CloudMails looks up one id at a time: it has no records by date to read
    assert "cloudmails: cannot list its records by date" in done.stdout
    found = Mailer.from_env(env).suppressions.get("jon@example.org")
    assert found is not None and found.reason == "bounced"
    assert found.provider == "aurorasendcloud"


def test_redeliver_sends_a_silent_message_once_more_through_b(tmp_path: Path, sandboxes) -> None:
    a, b = sandboxes
    env = _env(tmp_path, a, b, MAILSPEC_REDELIVER_AFTER="4")
    a.set_outcome("queued", report=False)
    sent_at = time.monotonic()
    first = Mailer.from_env(env).send(message("kim@example.org"))
    assert first.provider == "cloudmails"
    assert "0 redelivered" in _cli(env, "redeliver").stdout  # not late yet
    time.sleep(max(0.0, sent_at + 4.1 - time.monotonic()))
    done = _cli(env, "redeliver")
    assert done.returncode == 0, done.stderr
    assert f"redelivered {first.idempotency_key} through aurorasendcloud" in done.stdout
    assert "0 redelivered" in _cli(env, "redeliver").stdout  # once only
    assert (len(a.accepted), len(b.accepted)) == (1, 1)


def test_redeliver_needs_redeliver_after(tmp_path: Path, sandboxes) -> None:
    a, b = sandboxes
    done = _cli(_env(tmp_path, a, b), "redeliver")
    assert done.returncode == 2 and "MAILSPEC_REDELIVER_AFTER" in done.stderr
