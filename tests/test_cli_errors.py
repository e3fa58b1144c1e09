"""Bad arguments, as a new user would type them: each ends in one ``error:`` line and a
non-zero exit (2 for usage errors), never a traceback, and no command does nothing
silently. The CLI runs as a child process, against the sandbox where it needs a server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from spec_support import SPECS

import mailspec
from mailspec.sandbox import SandboxServer

MESSAGE = ["--from", "noreply@example.com", "--to", "ann@example.org", "--subject", "Hi",
           "--text", "hello"]  # fmt: skip


def mailspec_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "MAILSPEC_WEBHOOK_SECRET"}
    return subprocess.run(
        [sys.executable, "-m", "mailspec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


def test_version() -> None:
    done = mailspec_cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"mailspec {mailspec.__version__}\n" == "mailspec 0.1.0\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("nosuch",), "invalid choice: 'nosuch'"),
        (("sandbox", "--port", "abc"), "argument --port: invalid int value: 'abc'"),
        (("demo", "--messages", "many"), "argument --messages: invalid int value: 'many'"),
        (("codes",), "the following arguments are required: PROVIDER"),
    ],
)
def test_argparse_errors_are_one_line_with_exit_2(args: tuple[str, ...], needle: str) -> None:
    done = mailspec_cli(*args)
    one_error_line(done, 2, needle)
    assert "--help" in done.stderr


@pytest.mark.parametrize("var", ["bad", "=value"])
def test_a_var_without_a_name_and_equals_sign(aurora: SandboxServer, var: str) -> None:
    done = mailspec_cli("send", "--provider", aurora.url, *MESSAGE, "--var", var)
    one_error_line(done, 2, f"argument --var: expected NAME=VALUE, got {var!r}")
    assert aurora.requests == 0


def test_a_var_value_may_hold_equals_signs() -> None:
    with SandboxServer("sendcloud") as sendcloud:
        done = mailspec_cli("send", "--provider", sendcloud.url, "--from", "noreply@example.com",
                            "--to", "ann@example.org", "--template", "welcome",
                            "--var", "a=b=c")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert sendcloud.requests == 1
        assert "b=c" in str(sendcloud.accepted[0].params)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("variables = 3\n", "variables in the message file must be a table"),
        ('subjct = "typo"\n', "unknown field(s) subjct"),
        ("bad = [\n", "cannot read"),
        ("bad = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
    ],
)
def test_message_file_mistakes(
    aurora: SandboxServer, tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "message.toml"
    path.write_text(content, encoding="utf-8")
    done = mailspec_cli("send", "--provider", aurora.url, *MESSAGE, "--file", str(path),
                        "--var", "a=b")  # fmt: skip
    one_error_line(done, 1, needle)
    assert aurora.requests == 0


def test_an_unexpected_error_is_one_line_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last resort, for a bug: in-process, as a child process cannot be made to fail."""
    from mailspec.cli import main, send

    def broken(args: object) -> int:
        raise RuntimeError("boom near SENTINEL-KEY-99")

    monkeypatch.setattr(send, "_cmd_status", broken)
    code = main(["status", "--provider", "sendcloud://user:SENTINEL-KEY-99@", "id-1"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert (
        err
        == "error: unexpected RuntimeError: boom near *** (a bug in mailspec: please report it)\n"
    )


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = mailspec_cli("sandbox", "sendcloud", "--port", str(port), "--seconds", "1")
    one_error_line(done, 1, f"port: cannot listen on 127.0.0.1:{port}: ")
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sendcloud", "--port", "99999"), "argument --port: expected a port from 0 to 65535"),
        (("sendcloud", "--port", "-1"), "argument --port: expected a port from 0 to 65535"),
        (("--port", "8025"), "--port needs exactly one provider"),
        (("sendcloud", "--seconds", "-1"), "argument --seconds: expected a finite number"),
        (("sendcloud", "--seconds", "nan"), "argument --seconds: expected a finite number"),
        (("sendcloud", "--seconds", "inf"), "argument --seconds: expected a finite number"),
        (("sendcloud", "--seconds", "soon"), "argument --seconds: invalid number: 'soon'"),
        (("nosuch",), "unknown provider 'nosuch'; known: aotsend, aurorasendcloud"),
        (("",), "unknown provider ''"),
    ],
)
def test_sandbox_argument_errors(args: tuple[str, ...], needle: str) -> None:
    done = mailspec_cli("sandbox", *args)
    one_error_line(done, 2, needle)
    assert done.stdout == ""


SIGNING = {"MAILSPEC_WEBHOOK_SECRET": "cli-errors-key"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sendcloud", "--webhook-url", "not-a-url"), "expected an http:// or https:// URL"),
        (("sendcloud", "--webhook-url", ""), "expected an http:// or https:// URL"),
        (("sendcloud", "--webhook-url", "ftp://127.0.0.1/x"), "expected an http:// or https://"),
        (("sendcloud", "--webhook-url", "http://[::1/x"), "--webhook-url: not a URL"),
        (("sendcloud", "--webhook-url", "http://h:port/x"), "--webhook-url: not a URL"),
        (
            ("aotsend", "--webhook-url", "http://127.0.0.1:9/x"),
            "aotsend posts no webhooks; --webhook-url needs one of "
            + ", ".join(sorted(n for n, s in SPECS.items() if s.webhooks is not None)),
        ),
    ],
)
def test_webhook_urls_that_cannot_be_posted_to(args: tuple[str, ...], needle: str) -> None:
    done = mailspec_cli("sandbox", *args, "--seconds", "1", env=SIGNING)
    one_error_line(done, 2, needle)
    assert done.stdout == ""


def test_a_secret_in_a_refused_webhook_url_is_not_echoed() -> None:
    done = mailspec_cli("sandbox", "sendcloud", "--webhook-url", "ftp://u:SENTINEL-PW@h/?secret=SENTINEL-Q",
                        "--seconds", "1", env=SIGNING)  # fmt: skip
    one_error_line(done, 2, "--webhook-url")
    assert "SENTINEL" not in done.stderr


def test_webhooks_for_some_of_the_providers_name_the_others() -> None:
    done = mailspec_cli("sandbox", "aotsend", "sendcloud", "--webhook-url", "http://127.0.0.1:9/x",
                        "--seconds", "0.1", env=SIGNING)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "note: aotsend posts no webhooks: none of its events go out"
    ]
    assert [line.split()[0] for line in done.stdout.splitlines()[:2]] == ["aotsend", "sendcloud"]


def test_status_of_an_unknown_id_says_so_and_exits_1(aurora: SandboxServer) -> None:
    done = mailspec_cli("status", "--provider", aurora.url, "no-such-id")
    assert done.stdout == ""
    one_error_line(done, 1, "no status found at aurorasendcloud for no-such-id")


def test_status_reports_the_known_ids_and_names_the_unknown_ones(aurora: SandboxServer) -> None:
    import json

    sent = mailspec_cli("send", "--provider", aurora.url, *MESSAGE)
    assert sent.returncode == 0, sent.stderr
    known = aurora.accepted[0].message_id
    done = mailspec_cli("status", "--provider", aurora.url, "--json", known, "gone-1", "gone-2")
    assert [row["message_id"] for row in json.loads(done.stdout)] == [known]
    one_error_line(done, 1, "no status found at aurorasendcloud for gone-1, gone-2")


def test_status_of_an_id_cloudmails_does_not_know() -> None:
    with SandboxServer("cloudmails") as cloudmails:
        done = mailspec_cli("status", "--provider", cloudmails.url, "no-such-id")
    one_error_line(done, 1, "no status found at cloudmails for no-such-id (cloudmails 404")


def test_status_in_the_sandbox_asks_a_provider_that_has_status() -> None:
    done = mailspec_cli("status", "--sandbox", "no-such-id")  # aotsend comes first, has none
    one_error_line(done, 1, "no status found at aurorasendcloud for no-such-id")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ("--sandbox", "--name", "aotsend", "id-1"),
            "aotsend cannot report status; ask one that can with --name ("
            + ", ".join(sorted(n for n, s in SPECS.items() if "status" in s.operations))
            + ")",
        ),
        (("--provider", "aotsend://KEY@", "id-1"), "aotsend cannot report status"),
        (("--sandbox", "--name", "nosuch", "id-1"), "no configured provider named 'nosuch'"),
        (("--sandbox", ""), "a message id cannot be empty"),
    ],
)
def test_status_usage_errors(args: tuple[str, ...], needle: str) -> None:
    done = mailspec_cli("status", *args)
    one_error_line(done, 2, needle)
    assert done.stdout == ""


def test_a_provider_url_urllib_cannot_split(aurora: SandboxServer) -> None:
    done = mailspec_cli("send", "--provider", "aurorasendcloud://u:SENTINEL-KEY@[us", *MESSAGE)
    one_error_line(done, 1, "url: not a")  # the registry says why; the key is never shown
    assert "SENTINEL-KEY" not in done.stderr


@pytest.mark.parametrize("check", [[], ["--check"]])
def test_generate_into_a_file_is_refused(tmp_path: Path, check: list[str]) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("mine\n", encoding="utf-8")
    done = mailspec_cli("generate", *check, "--out", str(target))
    one_error_line(done, 2, f"--out {target} is not a directory")
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_generate_into_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    done = mailspec_cli("generate", "--out", str(tmp_path / "file" / "generated"))
    one_error_line(done, 1, f"cannot write to {tmp_path / 'file' / 'generated'}: ")


def _parsers() -> Iterator[tuple[str, object]]:
    import argparse

    from mailspec.cli import build_parser

    todo: list[argparse.ArgumentParser] = [build_parser()]
    while todo:
        parser = todo.pop()
        yield parser.prog, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())


def test_every_command_and_option_has_a_help_text() -> None:
    import argparse

    missing = []
    for prog, parser in _parsers():
        assert isinstance(parser, argparse.ArgumentParser)
        if not parser.description:
            missing.append(f"{prog}: description")
        for action in parser._actions:
            if not action.help and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                missing.extend(f"{prog} {name}" for name in action.choices if name not in helped)
    assert missing == []


def test_the_top_level_help_says_what_mailspec_is_and_lists_every_command() -> None:
    done = mailspec_cli("--help")
    assert done.returncode == 0
    assert "transactional-email providers" in done.stdout and "failover" in done.stdout
    for command in ("send", "status", "sandbox", "demo", "codes", "providers", "generate",
                    "webhook"):  # fmt: skip
        assert f"\n    {command} " in done.stdout or f"\n    {command}\n" in done.stdout
    assert "PROVIDER://CREDENTIALS@REGION" in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "missing required field `from_email`: give --from, or from_email in the --file"),
        (("--from", "a@example.com"), "missing required field `to`: give --to, or to in the"),
    ],
)
def test_a_message_without_sender_or_recipient_names_the_flag(
    aurora: SandboxServer, args: tuple[str, ...], needle: str
) -> None:
    done = mailspec_cli("send", "--provider", aurora.url, *args)
    one_error_line(done, 1, needle)


def test_an_empty_file_name_is_not_taken_for_no_file(aurora: SandboxServer) -> None:
    done = mailspec_cli("send", "--provider", aurora.url, *MESSAGE, "--file", "")
    one_error_line(done, 2, "--file needs a path")
    assert aurora.requests == 0


def test_the_send_command_reads_the_mailer_settings_from_the_environment(
    aurora: SandboxServer,
) -> None:
    env = {"MAILSPEC_PROVIDERS": aurora.url, "MAILSPEC_ON_AMBIGUOUS": "retry"}
    done = mailspec_cli("send", *MESSAGE, env=env)
    one_error_line(done, 1, "MAILSPEC_ON_AMBIGUOUS: is 'stop' or 'failover', got 'retry'")
    env = {"MAILSPEC_PROVIDERS": aurora.url, "MAILSPEC_TIMEOUT": "soon"}
    one_error_line(mailspec_cli("send", *MESSAGE, env=env), 1, "MAILSPEC_TIMEOUT: expected")
