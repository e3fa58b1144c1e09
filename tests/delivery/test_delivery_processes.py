"""Processes sharing one store agree: suppressions added by one are seen (and honoured
before any request) by another, on SQLite and on Redis; and a webhook whose receiver is
killed with SIGKILL mid-request is not lost: the provider retries it, and it is
recorded once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from delivery_support import SECRET, message, wait_for
from redis_support import RedisServer, free_port

from mailspec import DeliveryState, EventType, Mailer, Suppressed
from mailspec.sandbox import SandboxServer

WORKER = Path(__file__).resolve().parent / "delivery_worker.py"


def _store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url(prefix=f"test-{uuid.uuid4().hex[:12]}:")


def _run(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(WORKER), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_agree_on_suppressions(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _store_url(kind, tmp_path, request)
    addresses = [f"user{i}@example.org" for i in range(40)]
    # two processes at once, each adding half, then a third lists them
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "suppress", url, *half],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for half in (addresses[::2], addresses[1::2])
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    assert _run("list", url) == sorted(addresses)

    with SandboxServer("cloudmails") as sandbox:
        here = Mailer([sandbox.provider()], store=url)  # this process, the same store
        assert here.suppressions.get("USER3@example.org") is not None
        with pytest.raises(Suppressed):
            here.send(message("user3@example.org"))
        assert sandbox.requests == 0
        _run("remove", url, "user3@example.org")
        assert here.suppressions.get("user3@example.org") is None
        here.send(message("user3@example.org"))
        assert sandbox.requests == 1
    assert "user3@example.org" not in _run("list", url)


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_webhook_whose_receiver_is_killed_is_recorded_once_from_the_retry(
    where: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    port, flag = free_port(), tmp_path / "hanging"
    first = subprocess.Popen(
        [sys.executable, str(WORKER), "serve", url, "aurorasendcloud", str(port), SECRET,
         where, str(flag)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == b"ready"
        with SandboxServer("aurorasendcloud") as sandbox:
            sandbox.set_outcome("bounced", sub_status="406")
            poster = sandbox.send_webhooks(
                f"http://127.0.0.1:{port}/hooks", secret=SECRET, retry_delays=(1, 1, 2, 2, 4)
            )
            sender = Mailer([sandbox.provider()], store=url)
            result = sender.send(message("fay@example.org"))
            assert wait_for(flag.exists, 20)  # the receiver is inside the first request
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            second = subprocess.Popen(
                [sys.executable, str(WORKER), "serve", url, "aurorasendcloud", str(port), SECRET],
                stdout=subprocess.PIPE,
            )
            assert poster.flush(30)
            assert all(p.status == 200 for p in poster.posted)
        timeline = sender.timeline(result)
        assert [e.type for e in timeline.events] == [EventType.BOUNCED, EventType.QUEUED]
        assert timeline.state is DeliveryState.BOUNCED
        assert sender.suppressions.get("fay@example.org") is not None
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
