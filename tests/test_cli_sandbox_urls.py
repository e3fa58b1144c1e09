"""`mailspec sandbox` prints a MAILSPEC_PROVIDERS line to paste into another shell,
where `mailspec send` and `mailspec status` then talk to the running sandbox; `status
--sandbox` (servers started afresh for that one command) says why it finds nothing."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from test_cli_errors import mailspec_cli, one_error_line


def _provider_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:  # the table, then the line to paste
        if line.startswith("export MAILSPEC_PROVIDERS="):
            return line
    raise AssertionError("no MAILSPEC_PROVIDERS line")


def test_the_printed_providers_reach_the_running_sandbox() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mailspec", "sandbox", "cloudmails", "sendcloud", "--seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # what a user pastes: the shell's own quoting undone, as `export` would
        (assignment,) = shlex.split(_provider_line(process).removeprefix("export "))
        urls = assignment.partition("=")[2]
        assert urls.split()[0].startswith("cloudmails://")
        env = {"MAILSPEC_PROVIDERS": urls}
        sent = mailspec_cli(
            "send", "--from", "shop@example.com", "--to", "ann@example.org",
            "--subject", "Hi", "--html", "<p>Hi</p>", env=env,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        message_id = sent.stdout.split()[-1]
        status = mailspec_cli("status", message_id, env=env)
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert sent.stdout.startswith("accepted by cloudmails: ")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"{message_id}  -  delivered  ")


def test_status_in_a_fresh_sandbox_says_why_it_finds_nothing() -> None:
    env = {k: "" for k in os.environ if k == "MAILSPEC_PROVIDERS"}
    done = mailspec_cli("status", "--sandbox", "--name", "cloudmails", "no-such-id", env=env)
    one_error_line(done, 1, "--sandbox starts fresh sandbox servers, which hold no message yet")
    assert "set MAILSPEC_PROVIDERS as it prints" in done.stderr
