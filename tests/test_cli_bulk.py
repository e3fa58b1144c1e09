"""`mailspec send --file messages.jsonl` against a sandbox server, as a user would run
it; and its progress line, on a terminal and in a log."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailspec import SendResult, ValidationError
from mailspec.cli.bulk import Progress
from mailspec.sandbox import SandboxServer


def mailspec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailspec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILSPEC_")},
    )


@pytest.fixture
def cloudmails() -> Iterator[SandboxServer]:
    with SandboxServer("cloudmails") as server:
        yield server


def _line(i: int, **fields: object) -> str:
    row = {"to": [f"r{i}@example.org"], "subject": f"m{i}", "html": "<p>hi</p>", **fields}
    return json.dumps(row)


def test_every_line_is_sent_with_a_summary(cloudmails, tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    lines = [_line(i, from_email="shop@example.com") for i in range(30)]
    lines[4] = _line(4, from_email="shop@example.com", to="one@example.org")  # one string
    path.write_text("\n".join(lines) + "\n")
    done = mailspec("send", "--provider", cloudmails.url, "--file", str(path), "--concurrency", "6")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sent 30 of 30, 0 failed; by provider: cloudmails 30"
    assert sorted(a.params["subject"] for a in cloudmails.accepted) == sorted(
        f"m{i}" for i in range(30)
    )
    progress = done.stderr.strip().splitlines()  # not a terminal: a line a tenth of the way
    assert progress[-1] == "30/30 (100%) done, 0 failed" and 2 <= len(progress) <= 11
    assert "\r" not in done.stderr


def test_bad_lines_are_reported_and_skipped_and_the_rest_sent(cloudmails, tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(
        "\n".join(
            [
                _line(0),
                "{not json",
                "",  # ignored
                _line(3, subjekt="typo"),
                "[1, 2]",
                _line(5, to="not an address"),  # a message, refused at send: failed
                _line(6, html=None, text="only text"),  # CloudMails requires html: failed
                "   ",
                _line(8),
            ]
        )
        + "\n"
    )
    done = mailspec(
        "send", "--provider", cloudmails.url, "--file", str(path), "--from", "shop@example.com",
        "--json",
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["line"], o["sent"]) for o in outcomes] == [
        (1, True),
        (2, False),
        (4, False),
        (5, False),
        (6, False),
        (7, False),
        (9, True),
    ]
    assert [o.get("skipped", False) for o in outcomes] == [
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert outcomes[3]["message"] == "expected one JSON object, got an array"
    assert outcomes[4]["error"] == "ValidationError" and "to" in outcomes[4]["message"]
    assert outcomes[5]["error"] == "AllProvidersFailed" and outcomes[5]["attempts"]
    assert outcomes[0]["provider"] == "cloudmails" and outcomes[0]["message_ids"]
    assert [a.params["subject"] for a in cloudmails.accepted] in (["m0", "m8"], ["m8", "m0"])
    assert f"{path}:2: skipped: not JSON" in done.stderr
    assert f"{path}:4: skipped: unknown field(s) subjekt" in done.stderr
    assert "sent 2 of 7, 2 failed, 3 skipped (not a message); by provider: cloudmails 2" in (
        done.stderr
    )
    assert cloudmails.credentials["api_key"] not in done.stdout + done.stderr


HOSTILE = [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's stack
    b'{"to": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",  # deep inside an object
    b'{"subject": ' + b"9" * 5_000 + b"}",  # more digits than Python reads
    b'{"subject": 1e999999}',  # infinity
    b'{"subject": "\xff\xfe"}',  # not UTF-8
    b'{"subject": 5}',  # a wrong type
    b'{"headers": {"X-A": ["b"]}}',  # a wrong type inside
    b'"a string"',
    b"null",
    b'{"subject": "a\x00b"}',  # a raw NUL: not JSON
    b'{"\x1b[2J": 1}',  # an unknown key that would clear a terminal
    b'{"attachments": [{"filename": "a", "content": "!not base64"}]}',
]


def test_hostile_lines_are_skipped_and_every_good_line_sent(cloudmails, tmp_path: Path) -> None:
    """Each hostile line is reported by number and skipped; the good ones around them
    all go out, and the exit status says some lines failed."""
    path = tmp_path / "messages.jsonl"
    rows = [_line(0).encode()]
    for i, hostile in enumerate(HOSTILE, start=1):
        rows += [hostile, _line(i).encode()]
    path.write_bytes(b"\n".join(rows) + b"\n")
    done = mailspec(
        "send", "--provider", cloudmails.url, "--file", str(path), "--from", "shop@example.com",
        "--concurrency", "1",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    for number in range(2, 2 * len(HOSTILE) + 1, 2):  # every other line
        assert f"{path}:{number}: skipped: " in done.stderr
    assert f"{path}:2: skipped: not JSON that can be read: nested too deeply" in done.stderr
    assert "\x1b" not in done.stderr  # the key is shown escaped
    assert sorted(a.params["subject"] for a in cloudmails.accepted) == sorted(
        f"m{i}" for i in range(len(HOSTILE) + 1)
    )
    total = 2 * len(HOSTILE) + 1
    assert done.stdout.strip() == (
        f"sent {len(HOSTILE) + 1} of {total}, 0 failed, {len(HOSTILE)} skipped "
        f"(not a message); by provider: cloudmails {len(HOSTILE) + 1}"
    )


def test_failures_are_named_by_line_without_json(cloudmails, tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(_line(0) + "\n" + _line(1, to="bad") + "\n")
    done = mailspec("send", "--provider", cloudmails.url, "--file", str(path), "--from", "a@b.co")
    assert done.returncode == 1
    assert f"{path}:2: failed: ValidationError: to:" in done.stderr
    assert done.stdout.strip() == "sent 1 of 2, 1 failed; by provider: cloudmails 1"


@pytest.mark.parametrize(
    ("content", "needle"),
    [("", "holds no messages"), ("\n\n", "holds no messages"), (None, "cannot read")],
)
def test_a_file_with_nothing_to_send_is_one_error_line(
    cloudmails, tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "messages.jsonl"
    if content is not None:
        path.write_text(content)
    done = mailspec("send", "--provider", cloudmails.url, "--file", str(path))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and needle in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--file", "one.json", "--concurrency", "4"], "--concurrency is for a --file of many"),
        (["--file", "x.jsonl", "--concurrency", "0"], "expected 1 or more"),
        (["--file", "x.jsonl", "--concurrency", "many"], "invalid int value"),
    ],
)
def test_concurrency_mistakes_are_usage_errors(args: list[str], needle: str) -> None:
    done = mailspec("send", "--sandbox", *args)
    assert done.returncode == 2 and needle in done.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _sent() -> SendResult:
    return SendResult(provider="cloudmails", message_ids=["x"])


def test_on_a_terminal_progress_is_one_line_rewritten_in_place() -> None:
    stream, clock = _Terminal(), _Clock()
    progress = Progress(stream, 4, clock=clock)
    for done in range(1, 5):
        clock.now += 0.2
        progress(done, 4, _sent() if done != 2 else ValidationError("x"))
    progress.finish()
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.count("\n") == 1 and text.endswith("\n")
    assert "\r4/4 (100%) done, 1 failed" in text


def test_in_a_log_progress_is_a_line_a_tenth_of_the_way_or_every_five_seconds() -> None:
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(stream, 1000, clock=clock)
    for done in range(1, 51):  # 5%: no tenth passed, but six seconds did
        clock.now += 0.125
        progress(done, 1000, _sent())
    assert stream.getvalue().splitlines() == ["40/1000 (4%) done, 0 failed"]
    for done in range(51, 1001):
        progress(done, 1000, _sent())
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1] == "1000/1000 (100%) done, 0 failed"
