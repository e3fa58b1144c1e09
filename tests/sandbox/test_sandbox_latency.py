"""The sandbox's added latency: every answer waits it, many requests wait it side by
side (a thread per connection, a listen backlog for many connects at once), a range is
drawn from a seeded random, and bad settings are typed errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3

import mailspec
from mailspec import Message, ValidationError
from mailspec.sandbox import Latency, Sandbox, SandboxServer, parse_latency


def _message(i: int = 0) -> Message:
    return Message(from_email="shop@example.com", to="ann@example.org", subject=f"m{i}", html="x")


def _timed_sends(server: SandboxServer, count: int) -> tuple[float, list[float]]:
    """``count`` sends at once, each on its own thread: the wall time and each send's."""
    provider = server.provider()
    provider.ensure_pool_size(count)

    def one(i: int) -> float:
        started = time.monotonic()
        provider.send(_message(i))
        return time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        each = list(pool.map(one, range(count)))
    return time.monotonic() - started, each


def test_every_answer_waits_the_latency_and_concurrent_ones_wait_side_by_side() -> None:
    with SandboxServer("cloudmails", latency=0.2) as server:
        total, each = _timed_sends(server, 16)
    assert min(each) >= 0.2
    assert total < 16 * 0.2 / 2  # one after another would take 3.2 s
    assert len(server.accepted) == 16


def test_sixty_four_connections_at_once_are_all_accepted_and_served_together() -> None:
    with SandboxServer("cloudmails", latency=0.3) as server:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", server.port, maxsize=64, block=True)
        url = f"{server.base_url}/send"
        body = json.dumps(
            {"from": "shop@example.com", "to": "a@example.org", "subject": "s", "html": "x"}
        )
        headers = {
            "Authorization": f"Bearer {server.credentials['api_key']}",
            "Content-Type": "application/json",
        }

        def post(_: int) -> int:
            return pool.request("POST", url, body=body, headers=headers, retries=False).status

        started = time.monotonic()
        with ThreadPoolExecutor(64) as threads:
            statuses = list(threads.map(post, range(64)))
        took = time.monotonic() - started
    assert server.requests == 64 and statuses == [200] * 64
    # a connect dropped from a short backlog is retried by the kernel after a second
    assert 0.3 <= took < 1.2


def test_a_range_is_drawn_from_a_seeded_random_within_its_bounds() -> None:
    a, b = Latency((0.05, 0.3), seed=4), Latency((0.05, 0.3), seed=4)
    draws = [a.next() for _ in range(50)]
    assert draws == [b.next() for _ in range(50)]
    assert all(0.05 <= d <= 0.3 for d in draws) and len(set(draws)) == 50
    assert Latency(0.1).next() == 0.1 and not Latency() and not Latency(0)


def test_the_latency_can_be_changed_while_the_server_runs() -> None:
    with Sandbox(["cloudmails"]) as sandbox:
        server = sandbox["cloudmails"]
        provider = server.provider()
        started = time.monotonic()
        provider.send(_message())
        quick = time.monotonic() - started
        server.latency = Latency(0.25)
        started = time.monotonic()
        provider.send(_message())
        slow = time.monotonic() - started
    assert quick < 0.25 <= slow


@pytest.mark.parametrize(
    ("text", "bounds"), [("0.1", (0.1, 0.1)), ("0.05-0.3", (0.05, 0.3)), (" 0 ", (0.0, 0.0))]
)
def test_parse_latency_reads_seconds_or_a_range(text: str, bounds: tuple[float, float]) -> None:
    assert parse_latency(text) == bounds


@pytest.mark.parametrize("text", ["", "fast", "0.3-0.05", "-1", "nan", "inf", "0.1-", "1-2-3"])
def test_parse_latency_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_latency(text)
    assert caught.value.field == "latency"


@pytest.mark.parametrize("setting", [-0.1, (0.3, 0.1), (0.1,), "0.1", True, float("nan")])
def test_a_bad_latency_setting_is_a_validation_error(setting: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Latency(setting)  # type: ignore[arg-type]
    assert caught.value.field == "latency"


def test_the_sandbox_command_takes_a_latency() -> None:
    command = ["sandbox", "cloudmails", "--json", "--seconds", "30", "--latency", "0.25-0.3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "mailspec", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.rstrip() == "]":
                break
        (row,) = json.loads("".join(lines))
        provider = mailspec.provider("cloudmails", base_url=row["base_url"], **row["credentials"])
        started = time.monotonic()
        provider.send(_message())
        took = time.monotonic() - started
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert took >= 0.25


def test_the_sandbox_command_refuses_a_bad_latency() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailspec", "sandbox", "--latency", "0.3-0.1", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--latency" in done.stderr and "wrong way round" in done.stderr
    assert "Traceback" not in done.stderr
