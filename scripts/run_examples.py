"""Run the ```python examples of Markdown files against the sandbox, as written.

    python scripts/run_examples.py README.md docs/*.md     # every example
    python scripts/run_examples.py README.md --section "Quick start"

The examples of one file run in order, in one namespace (a later one may use what an
earlier one made), with every provider aimed at a local sandbox server: a provider built
without ``base_url`` (by ``provider()``, ``provider_from_url()`` or the configuration)
gets its sandbox server's, and the credentials the example writes (``USER``, ``KEY``)
are swapped for the sandbox's. Nothing else changes: the example's own code runs.

A block that cannot run here (a settings file, a shell's environment, code needing a
worker) says so on the line before its fence, with the reason:
``<!-- not run: a Django settings module -->``. Keep these few.

``mailspec``, ``Message`` and ``Mailer`` are imported, and a few names stand for what
an example leaves to the reader: ``message`` and ``messages`` (Messages to the
sandbox), ``order`` (an object with an ``id``), ``body``, ``headers`` and
``WEBHOOK_KEY`` (a SendCloud webhook request, signed with that key). ``$MAILSPEC_PROVIDERS`` holds the
sandbox's providers, as ``mailspec sandbox`` prints them.
Exit status 1 when an example fails, naming its file and line. Needs only mailspec, so
scripts/release-check runs it from an installed wheel or sdist.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import inspect
import os
import re
import signal
import sys
import tempfile
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+)(?P<lang>[\w+-]*)[^\n]*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<why>.+?)\s*-->\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # of the opening fence, 1-based
    section: str  # the heading it is under
    code: str
    not_run: str  # the reason it is not run, or ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def examples(path: Path) -> list[Example]:
    """The ```python blocks of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    section, index = "", 0
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        if heading:
            section = heading["title"]
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != opening["fence"]:
            end += 1
        if opening["lang"] == "python":
            body = [line.removeprefix(opening["indent"]) for line in lines[index + 1 : end]]
            mark = _NOT_RUN.match(lines[index - 1]) if index else None
            found.append(
                Example(
                    path, index + 1, section, "\n".join(body) + "\n", mark["why"] if mark else ""
                )
            )
        index = end + 1
    return found


@contextlib.contextmanager
def sandboxed() -> Iterator[Any]:
    """Every provider mailspec builds in this block aimed at a sandbox server."""
    import mailspec
    from mailspec import registry
    from mailspec.sandbox import Sandbox

    real = registry.provider

    def provider(name: str, *args: Any, **options: Any) -> Any:
        server = sandbox.servers.get(name)
        if server is not None and options.get("transport", "http") == "http":
            options.setdefault("base_url", server.base_url)
            for credential, value in server.credentials.items():
                if credential in options:
                    options[credential] = value
        return real(name, *args, **options)

    with Sandbox() as sandbox:
        registry.provider = provider  # type: ignore[assignment]
        mailspec.provider = provider  # type: ignore[assignment]
        # what Mailer.from_env() reads, as `mailspec sandbox` prints it
        urls = " ".join(server.url for server in sandbox)
        environ = {"MAILSPEC_PROVIDERS": urls}
        saved = {name: os.environ.get(name) for name in environ}
        os.environ.update(environ)
        try:
            yield sandbox
        finally:
            registry.provider = real
            mailspec.provider = real
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _placeholders() -> dict[str, Any]:
    import mailspec
    from mailspec import Mailer, Message

    def one(to: str) -> Message:
        return Message(from_email="shop@example.com", to=[to], subject="Hi", html="<p>Hi</p>")

    body, headers = webhook_request("sendcloud", WEBHOOK_KEY)
    return {
        "mailspec": mailspec,  # the imports every page assumes
        "Message": Message,
        "Mailer": Mailer,
        "message": one("ann@example.org"),
        "messages": [one(f"user{i}@example.org") for i in range(3)],
        "order": types.SimpleNamespace(id=1042),
        "body": body,
        "headers": headers,
        "WEBHOOK_KEY": WEBHOOK_KEY,
    }


WEBHOOK_KEY = "examples-webhook-key"


def webhook_request(name: str, key: str) -> tuple[bytes, dict[str, str]]:
    """A delivered event as ``name`` posts it (form-encoded), signed with ``key``."""
    import secrets
    import time
    from urllib.parse import urlencode

    from mailspec import spec
    from mailspec.webhooks import sign

    hooks = spec(name).webhooks
    assert hooks is not None and hooks.signature is not None
    fields, signature, now = hooks.fields, hooks.signature, int(time.time())
    token = secrets.token_hex(25)  # a new one each time: parse() refuses a replayed token
    event = next(n for n, row in hooks.events.items() if row.type == "delivered")
    values = {
        fields.event: event,
        fields.message_id: "sandbox-message-1",
        fields.recipient: "ann@example.org",
        fields.timestamp: now,
        signature.timestamp: now,
        signature.id: token,
        signature.signature: sign(key, now, token),
    }
    form = urlencode({k: v for k, v in values.items() if k is not None}).encode()
    return form, {"Content-Type": "application/x-www-form-urlencoded"}


SECONDS = 60  # at most, per example: one that waits forever (a server) fails instead


def run(example: Example, namespace: dict[str, Any]) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(example.code, example.where, "exec", flags=flags)

    def too_long(*_: object) -> None:
        raise TimeoutError(f"still running after {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(SECONDS)
    try:
        if code.co_flags & inspect.CO_COROUTINE:
            asyncio.run(types.FunctionType(code, namespace)())
        else:
            exec(code, namespace)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_files(paths: list[Path], section: str | None = None) -> list[str]:
    """Run the examples of ``paths`` (under headings named ``section`` only, if given);
    the failures, one text each."""
    failures: list[str] = []
    paths = [p.resolve() for p in paths]
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch), sandboxed():
        for path in paths:  # in a folder of their own: a file an example writes goes there
            namespace: dict[str, Any] = {"__name__": "__example__", **_placeholders()}
            for example in examples(path):
                if example.not_run or (section and example.section != section):
                    continue
                try:
                    run(example, namespace)
                except Exception:
                    failures.append(
                        f"{example.where} ({example.section}):\n{traceback.format_exc()}"
                    )
                    break  # the next examples of the file may need what this one makes
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--section", help="only the examples under this heading")
    args = parser.parse_args(argv)
    failures = run_files(args.files, args.section)
    for failure in failures:
        print(f"example failed: {failure}", file=sys.stderr)
    ran = sum(
        1
        for p in args.files
        for e in examples(p)
        if not e.not_run and (not args.section or e.section == args.section)
    )
    print(f"{ran} example(s) from {len(args.files)} file(s): {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
