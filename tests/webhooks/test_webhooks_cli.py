"""`mailspec webhook verify` as a user runs it: a child process, the secret in the env."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from webhooks_support import NOW, SECRET, form_body, json_body, signed

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def run(*args: str, secret: str | None = SECRET, env_name: str = "MAILSPEC_WEBHOOK_SECRET",
        stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "MAILSPEC_WEBHOOK_SECRET"}
    if secret is not None:
        env[env_name] = secret
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    result = subprocess.run(
        [python, "-m", "mailspec", "webhook", "verify", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert SECRET not in result.stdout and SECRET not in result.stderr
    assert "Traceback" not in result.stderr
    return result


def write(tmp_path: Path, body: bytes) -> str:
    path = tmp_path / "body"
    path.write_bytes(body)
    return str(path)


def test_a_valid_json_body_from_a_file(tmp_path: Path) -> None:
    body = json_body([signed("deliver"), signed("invalid", subStat="406")])
    result = run("sendcloud", "--body", write(tmp_path, body), "--now", str(NOW),
                 "--header", "Content-Type: application/json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["delivered", "deliver"]
    assert lines[1].split()[:3] == ["bounced", "(no_such_user)", "invalid"]
    assert "2023-11-14T22:13:20+00:00" in lines[0]
    assert result.stderr == ""


def test_a_form_body_on_stdin_and_json_output() -> None:
    result = run(
        "aurorasendcloud", "--now", str(NOW), "--json",
        "--header", "content-type: application/x-www-form-urlencoded",
        stdin=form_body(signed("open")),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout)
    assert (event["provider"], event["type"], event["event"]) == (
        "aurorasendcloud",
        "opened",
        "open",
    )
    assert event["timestamp"] == "2023-11-14T22:13:20Z"


def test_a_wrong_signature_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    body = json_body(signed("deliver", key="wrong"))
    result = run("sendcloud", "--body", write(tmp_path, body), "--now", str(NOW))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "error: sendcloud webhook: event 0: signature does not match\n"


def test_json_errors_follow_the_other_commands(tmp_path: Path) -> None:
    body = json_body(signed("deliver"))
    result = run("sendcloud", "--body", write(tmp_path, body), "--json")  # real clock: stale
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "error": "WebhookVerificationError",
        "message": "sendcloud webhook: event 0: timestamp is stale (more than 300 s from now)",
    }


def test_no_secret_in_the_environment(tmp_path: Path) -> None:
    body = json_body(signed("deliver"))
    result = run("sendcloud", "--body", write(tmp_path, body), "--now", str(NOW), secret=None)
    assert result.returncode == 1
    assert "no secret to verify with" in result.stderr


def test_another_environment_variable(tmp_path: Path) -> None:
    body = json_body(signed("deliver"))
    result = run("sendcloud", "--body", write(tmp_path, body), "--now", str(NOW),
                 "--secret-env", "MY_HOOK_KEY", env_name="MY_HOOK_KEY")  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_no_verify_parses_and_says_so(tmp_path: Path) -> None:
    body = json_body(signed("deliver", key="wrong"))
    result = run("sendcloud", "--body", write(tmp_path, body), "--no-verify", secret=None)
    assert result.returncode == 0
    assert result.stdout.startswith("delivered  deliver  ")
    assert result.stderr == "note: not verified (--no-verify)\n"


def test_cloudmails_with_basic_auth_and_with_the_url(tmp_path: Path) -> None:
    path = write(tmp_path, json_body({"event": "clicked", "message_id": "m9", "url": "https://x"}))
    auth = base64.b64encode(f"hooks:{SECRET}".encode()).decode()
    by_header = run("cloudmails", "--body", path, "--header", f"Authorization: Basic {auth}")
    assert by_header.returncode == 0, by_header.stderr
    assert by_header.stdout.split()[:3] == ["clicked", "clicked", "m9"]
    by_url = run("cloudmails", "--body", path, "--url", "https://h.example.com/cm?secret=" + SECRET)
    assert by_url.returncode == 0, by_url.stderr
    refused = run("cloudmails", "--body", path, "--url", "https://h.example.com/cm?secret=no")
    assert refused.returncode == 1
    assert refused.stderr == "error: cloudmails webhook: shared secret does not match\n"


def test_cloudmails_without_a_secret_warns_that_nothing_was_verified(tmp_path: Path) -> None:
    path = write(tmp_path, json_body({"event": "delivered", "message_id": "m1"}))
    result = run("cloudmails", "--body", path, secret=None)
    assert result.returncode == 0
    assert "not verified" in result.stderr and "MAILSPEC_WEBHOOK_SECRET" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sendcloud", "--body", "/no/such/file"), "error: body: cannot read /no/such/file"),
        (("sendcloud", "--header", "no colon here", "--body", "/dev/null"),
         "error: header: expected 'Name: value'"),
        (("nosuch", "--body", "/dev/null"), "error: provider: unknown provider 'nosuch'"),
        (("aotsend", "--body", "/dev/null"), "error: aotsend does not support webhooks"),
        (("sendcloud", "--now", "nan", "--body", "/dev/null"),
         "error: now: --now must be a finite number of seconds"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_a_payload_error(tmp_path: Path) -> None:
    result = run("cloudmails", "--body", write(tmp_path, b"[1, 2]"), secret=None)
    assert result.returncode == 1
    assert result.stderr == (
        "error: cloudmails webhook: event 0 is not an object (expected an object or a list of them)\n"
    )


def test_the_secret_is_not_a_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailspec", "webhook", "verify", "sendcloud", "--secret", "x"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unrecognized arguments: --secret" in result.stderr
