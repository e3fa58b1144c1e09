"""`mailspec send` and `mailspec status` against a sandbox server, as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mailspec.sandbox import SandboxServer


def mailspec(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailspec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


def test_send_then_status(aurora: SandboxServer) -> None:
    sent = mailspec(
        "send", "--provider", aurora.url, "--from", "noreply@example.com", "--to", "ann@example.org",
        "--subject", "Hi", "--text", "hello", "--json",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["provider"] == "aurorasendcloud"
    assert answer["message_ids"] == [aurora.accepted[0].message_id]
    assert aurora.accepted[0].params["subject"] == "Hi"
    status = mailspec("status", "--provider", aurora.url, "--json", *answer["message_ids"])
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert [(r["message_id"], r["state"], r["recipient"]) for r in rows] == [
        (answer["message_ids"][0], "delivered", "ann@example.org")
    ]


def test_providers_from_the_environment_and_a_message_file(
    aurora: SandboxServer, tmp_path: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "message.toml"
    path.write_text(
        'from_email = "noreply@example.com"\nto = ["bob@example.org"]\nsubject = "From a file"\nhtml = "<p>x</p>"\n'
    )
    sent = mailspec("send", "--file", str(path), env={"MAILSPEC_PROVIDERS": aurora.url})
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("accepted by aurorasendcloud: ")
    assert [a.recipient for a in aurora.accepted] == ["bob@example.org"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            [
                "--from",
                "noreply@example.com",
                "--to",
                "not-an-address",
                "--subject",
                "s",
                "--text",
                "t",
            ],
            "to: not a valid",
        ),
        (
            # no body: a rule of the provider (SMTP would send it), said as such
            ["--from", "noreply@example.com", "--to", "a@example.org", "--subject", "s"],
            "give at least one of: html, plain",
        ),
        (["--file", "/nonexistent/message.json"], "cannot read"),
        (
            [
                "--from",
                "a@example.com",
                "--to",
                "b@example.org\x1b",
                "--subject",
                "s",
                "--text",
                "t",
            ],
            "to: not a valid",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    aurora: SandboxServer, args: list[str], needle: str
) -> None:
    done = mailspec("send", "--provider", aurora.url, *args)
    assert done.returncode == 1
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert aurora.requests == 0


def test_failures_never_print_credentials(aurora: SandboxServer) -> None:
    url = "aurorasendcloud://user:SENTINEL-KEY-42@?base_url=" + aurora.base_url.replace(
        ":", "%3A"
    ).replace("/", "%2F")
    for extra in ([], ["--json"]):
        done = mailspec("send", "--provider", url, "--from", "a@example.com", "--to", "b@example.org",
                        "--subject", "s", "--text", "t", *extra)  # fmt: skip
        assert done.returncode == 1
        assert "SENTINEL-KEY-42" not in done.stdout + done.stderr
        assert "40005" in done.stdout + done.stderr


def test_no_provider_configured() -> None:
    done = mailspec("send", "--to", "a@example.org", env={"MAILSPEC_PROVIDERS": ""})
    assert done.returncode == 1 and "no provider" in done.stderr


@pytest.mark.parametrize(
    "url", ["aurorasendcloud://u:k@[us", "cloudmails://k@?base_url=http%3A%2F%2F%5B%3A%3A1"]
)
def test_an_unparsable_provider_url_is_one_line_without_traceback(url: str) -> None:
    done = mailspec("send", "--provider", url, "--from", "a@example.com", "--to", "b@example.org",
                    "--subject", "s", "--text", "t")  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "error: " in done.stderr
