"""``mailspec`` on the command line: send, status, sandbox, demo, codes, providers,
generate, spec diff, spec check, webhook verify. No traceback escapes: every error is one ``error:`` line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import msgspec

from . import __version__
from .cli_bulk import BULK_SUFFIXES, attempts_json, send_file
from .errors import MailspecError, ValidationError
from .message import Message
from .results import SendResult

__all__ = ["main"]

_PROJECT = Path(__file__).resolve().parent.parent


DEFAULT_CONCURRENCY = 8  # messages in flight for `send --file many.jsonl`


class UsageError(Exception):
    """A bad argument found after parsing: one ``error:`` line and exit 2, as argparse's."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (``mailspec X --help`` shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _default_dir(name: str) -> Path:
    """mailspec's own spec/ and generated/: the checkout's this package runs from, else
    the installed package's (its specs ship as data beside the clients made from them),
    whatever the working directory."""
    if (_PROJECT / "pyproject.toml").is_file() and (_PROJECT / "spec").is_dir():
        return _PROJECT / name
    package = Path(__file__).resolve().parent
    return package / "_data" / "spec" if name == "spec" else package / name


def _own_folders() -> list[Path]:
    """Where mailspec itself is: its package and its generated providers' package."""
    import importlib.util

    folders = [Path(__file__).resolve().parent]
    found = importlib.util.find_spec("mailspec.generated")
    if found is not None and found.submodule_search_locations:
        folders += [Path(p).resolve() for p in found.submodule_search_locations]
    return folders


def _generate_dirs(spec_dir: Path | None, out: Path | None) -> tuple[Path, Path]:
    """``--spec-dir`` and ``--out``, defaults filled in. Users' specs are never written
    into mailspec's own package: a ``--spec-dir`` of one's own needs an ``--out``, and
    an ``--out`` inside mailspec is only for mailspec's own specs."""
    default_specs = _default_dir("spec")
    if spec_dir is None:
        spec_dir = default_specs
    if out is None:
        if spec_dir.resolve() != default_specs.resolve():
            raise UsageError(
                f"--spec-dir {spec_dir} needs --out, the folder of your package "
                "(for example --out myapp/mail_providers)"
            )
        out = _default_dir("generated")
    mine = _is_own(spec_dir)
    target = out.resolve()
    for folder in _own_folders():
        if not mine and (target == folder or folder in target.parents):
            raise UsageError(
                f"--out {out} is inside mailspec's own package ({folder}); generate your "
                "providers into a package of yours (for example --out myapp/mail_providers)"
            )
    return spec_dir, out


def _is_own(spec_dir: Path) -> bool:
    """Whether ``spec_dir`` is mailspec's own spec folder (not a user's)."""
    own = _default_dir("spec")
    return own.is_dir() and spec_dir.resolve() == own.resolve()


SCHEMA_TITLE = "mailspec provider spec"  # what codegen.schema writes as the title


def _schema_is_ours(spec_dir: Path, path: Path) -> bool:
    """Whether ``generate`` may write ``path``: in mailspec's own spec/, always; in a
    folder of yours, only a schema.json an earlier ``generate`` wrote (its title says
    so). Only files generate made are replaced, and JSON cannot carry the do-not-edit
    header: a schema.json of your own is never touched, and none is created."""
    if _is_own(spec_dir):
        return True
    try:
        found = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and found.get("title") == SCHEMA_TITLE


def _cmd_generate(args: argparse.Namespace) -> int:
    try:
        from .codegen import GenerateError, SpecError, generate
        from .codegen.schema import schema_text
    except ImportError as exc:  # pyyaml/jinja2 are the codegen extra, not runtime deps
        print(
            f"mailspec generate needs the codegen extra: pip install 'mailspec[codegen]' ({exc})",
            file=sys.stderr,
        )
        return 2
    spec_dir, args.out = _generate_dirs(args.spec_dir, args.out)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is not a directory")
    try:
        drift = generate(spec_dir, args.out, check_only=args.check, changes=args.changes)
    except GenerateError as exc:  # a mistyped folder: nothing was written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be created or written
        print(f"error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    schema_path = spec_dir / "schema.json"
    schema = schema_text()
    try:
        schema_stale = _schema_is_ours(spec_dir, schema_path) and (
            not schema_path.exists() or schema_path.read_text(encoding="utf-8") != schema
        )
        if schema_stale and not args.check:
            schema_path.write_text(schema, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {schema_path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    if drift.changes is not None:  # before the drift: what the specs changed, then files
        from .cli_spec import changes_lines

        for line in changes_lines(drift.changes):
            print(line)
    if args.check:
        lines = drift.lines() + ([f"differs: {schema_path}"] if schema_stale else [])
        for line in lines:
            print(line)
        if lines:
            print(
                f"{len(lines)} generated file(s) out of date: run `mailspec generate`",
                file=sys.stderr,
            )
            return 1
        print("generated code is up to date")
        return 0
    for line in drift.written_lines() + (["wrote:   schema.json"] if schema_stale else []):
        print(line)
    print("generated code is up to date" if not drift and not schema_stale else "done")
    return 0


def _cmd_codes(args: argparse.Namespace) -> int:
    from . import registry

    try:
        if args.code is not None:
            rows = [registry.explain_code(args.provider, args.code)]
        else:
            rows = registry.code_table(args.provider)
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{k: getattr(r, k) for k in r.__struct_fields__} for r in rows], indent=2))
        return 0
    for row in rows:
        retry = "retryable" if row.retryable else "final"
        partial = " (partial: some recipients only)" if row.partial else ""
        print(f"{row.code:>6}  {row.category.value:<14} {retry:<9}  {row.message}{partial}")
    return 0


_MATRIX = (
    ("send", "send"),
    ("template", "template_send"),
    ("batch", "batch"),
    ("status", "status"),
    ("attach", "attachments"),
    ("cc/bcc", "cc_bcc"),
    ("per-rcpt vars", "recipient_variables"),
    ("sms", "sms"),
    ("smtp", "smtp"),
    ("webhooks", "webhooks"),
    ("rate/min", "rate_per_minute"),
    ("rcpts/req", "recipients_per_request"),
    ("sender name", "sender_name"),
    ("tags", "tags"),
    ("metadata", "metadata"),
    ("text-only", "text_only"),
    ("attach max", "attachment_bytes"),
)


def _cmd_providers(args: argparse.Namespace) -> int:
    from . import registry

    matrix = registry.capability_matrix()
    if args.json:
        print(
            json.dumps(
                {
                    name: {k: getattr(c, k) for k in c.__struct_fields__}
                    for name, c in matrix.items()
                },
                indent=2,
            )
        )
        return 0
    width = max(len(n) for n in matrix) if matrix else 8
    print(" " * width + "  " + "  ".join(label for label, _ in _MATRIX))
    for name, caps in matrix.items():
        cells = []
        for label, attr in _MATRIX:
            value = getattr(caps, attr)
            if isinstance(value, bool):
                text = "yes" if value else "-"
            elif value is None:
                text = "-"
            elif attr == "attachment_bytes":
                text = _size(value)
            else:
                text = str(value)
            cells.append(text.ljust(len(label)))
        print(name.ljust(width) + "  " + "  ".join(cells).rstrip())
    return 0


def _size(count: int) -> str:
    """Bytes as a person reads them: 10 MiB, 512 KiB, 700 B."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


def _port(text: str) -> int:
    """``--port``, as argparse's ``type``."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {port}")
    return port


def _positive(text: str) -> int:
    """A whole number, 1 or more, as argparse's ``type``."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {number}")
    return number


def _seconds(text: str) -> float:
    """``--seconds``, as argparse's ``type``: finite, not negative."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number, 0 or more, got {text!r}")
    return seconds


def _latency(text: str) -> tuple[float, float]:
    """``--latency``, as argparse's ``type``: seconds, or a range LOW-HIGH of them."""
    from .sandbox.latency import parse_latency

    try:
        return parse_latency(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("latency: ")) from None


def _check_webhook_url(url: str) -> None:
    """An http(s) URL with a host; never echoed, as it may carry the receiver's secret."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is what raises on a bad one)
    except ValueError as exc:
        raise UsageError(f"--webhook-url: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("--webhook-url: expected an http:// or https:// URL with a host")


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import threading

    from .registry import available, spec
    from .sandbox import Sandbox

    known = available()
    names = list(dict.fromkeys(args.providers)) or None  # a name given twice runs once
    for name in names or []:
        if name not in known:
            raise UsageError(f"unknown provider {name!r}; known: {', '.join(known)}")
    if args.port and (not names or len(names) != 1):
        raise UsageError("--port needs exactly one provider")
    secret = os.environ.get(args.webhook_secret_env)
    if args.webhook_url is not None:
        _check_webhook_url(args.webhook_url)
        chosen = names or known
        without = [n for n in chosen if spec(n).webhooks is None]
        if without == chosen:
            posting = ", ".join(n for n in known if spec(n).webhooks is not None)
            raise UsageError(
                f"{', '.join(without)} posts no webhooks; --webhook-url needs one of {posting}"
            )
        if not secret:
            raise UsageError(
                f"--webhook-url needs the key to sign events with in ${args.webhook_secret_env}"
            )
        for name in without:  # some of several: say so, rather than post nothing silently
            print(f"note: {name} posts no webhooks: none of its events go out", file=sys.stderr)
    try:
        sandbox = Sandbox(
            names,
            ports={names[0]: args.port} if names and args.port else {},
            latency=args.latency,
        )
    except OSError as exc:
        raise ValidationError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", field="port"
        ) from None
    with sandbox:
        if args.webhook_url is not None:
            _show_warnings("mailspec.sandbox")  # an event the receiver refused is said
            sandbox.send_webhooks(args.webhook_url, secret=secret)
        if args.json:
            rows = [
                {
                    "provider": s.name,
                    "base_url": s.base_url,
                    "credentials": s.credentials,
                    "url": s.url,
                }
                for s in sandbox
            ]
            print(json.dumps(rows, indent=2), flush=True)
        else:
            for server in sandbox:
                creds = " ".join(f"{k}={v}" for k, v in server.credentials.items())
                print(f"{server.name:<16} {server.base_url:<34} {creds}", flush=True)
            # ready to paste: `mailspec send`, `status` and Mailer.from_env() read it
            urls = " ".join(server.url for server in sandbox)
            print(f"\nexport MAILSPEC_PROVIDERS='{urls}'", flush=True)
            print("sandbox credentials are not secret; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait(args.seconds if args.seconds else None)
        lost = [p for s in sandbox if s.webhooks is not None for p in s.webhooks.failed]
        if lost:
            print(f"webhooks: {len(lost)} event(s) the receiver did not take", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import print_report, run_demo

    if args.messages < 1:
        print("error: --messages must be at least 1", file=sys.stderr)
        return 2
    report = run_demo(
        args.messages, progress=sys.stderr if sys.stderr.isatty() and not args.json else None
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report)
    verified = report.agrees and report.unreported == 0 and report.without_metadata == 0
    return 0 if verified else 1


def _providers_from(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Any]:
    """Providers from --provider URLs, else MAILSPEC_PROVIDERS (space- or comma-separated),
    or every sandbox provider with --sandbox; MAILSPEC_TIMEOUT applies to either."""
    from .mailer.config import providers_from_urls, settings_from_env

    if args.sandbox:
        from .sandbox import Sandbox

        sandbox = stack.enter_context(Sandbox())
        return [server.provider() for server in sandbox]
    settings = settings_from_env()
    urls = args.provider or settings.get("providers", [])
    if not urls:
        raise ValidationError(
            "no provider: give --provider URL, set MAILSPEC_PROVIDERS, or use --sandbox"
        )
    source = "--provider" if args.provider else "MAILSPEC_PROVIDERS"
    return list(providers_from_urls(urls, source, settings.get("timeout")))


def _message_from(args: argparse.Namespace) -> Message:
    fields: dict[str, Any] = {}
    if args.file == "":
        raise UsageError("--file needs a path")
    if args.file is not None:
        path = Path(args.file)
        try:
            text = path.read_bytes()
            fields = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read {path}: {exc}", field="file") from None
        except RecursionError:
            raise ValidationError(f"cannot read {path}: nested too deeply", field="file") from None
        if not isinstance(fields, dict):
            raise ValidationError("the message file must hold one object", field="file")
        return message_of(fields, args, where=f"{path}: ")
    return message_of(fields, args)


def message_of(
    fields: dict[str, Any],
    args: argparse.Namespace,
    *,
    where: str = "",
    source: str = "the message file",
    missing: str = "in the --file",
) -> Message:
    """A Message from ``fields`` read from ``source``, the message flags of ``args``
    overriding them: ValidationError for an unknown field (prefixed by ``where``) or a
    bad value (a missing sender or recipient: give the flag, or the field ``missing``)."""
    unknown = sorted(set(fields) - set(Message.__struct_fields__))
    if unknown:  # a misspelt key would otherwise be dropped without a word
        raise ValidationError(
            f"{where}unknown field(s) {', '.join(map(str, unknown))}; "
            f"expected some of {', '.join(Message.__struct_fields__)}",
            field="file",
        )
    flags = {
        "from_email": args.from_email,
        "from_name": args.from_name,
        "subject": args.subject,
        "html": args.html,
        "text": args.text,
        "template": args.template,
    }
    fields = {**fields, **{k: v for k, v in flags.items() if v is not None}}
    for name in ("to", "cc", "bcc"):
        if getattr(args, name):
            fields[name] = getattr(args, name)
        elif isinstance(fields.get(name), str):
            fields[name] = [fields[name]]  # one address, as Message(to="ann@…") takes it
    if args.var:
        from_file = fields.get("variables", {})
        if not isinstance(from_file, dict):
            raise ValidationError(
                f"variables in {source} must be a table of NAME = VALUE", field="file"
            )
        fields["variables"] = {**from_file, **dict(args.var)}
    try:
        return msgspec.convert(fields, Message)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for field, flag in (("from_email", "--from"), ("to", "--to")):
            if message == f"Object missing required field `{field}`":
                message += f": give {flag}, or {field} {missing}"
        raise ValidationError(message, field="message") from None


def _name_value(text: str) -> tuple[str, str]:
    """``--var NAME=VALUE``, as argparse's ``type``."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text[:60]!r}")
    return name, value


def _cmd_send(args: argparse.Namespace) -> int:
    from .mailer.config import mailer_from_env

    bulk = args.file is not None and Path(args.file).suffix in BULK_SUFFIXES
    if args.concurrency is not None and not bulk:
        raise UsageError("--concurrency is for a --file of many messages (.jsonl)")
    with contextlib.ExitStack() as stack:
        # every other setting from the MAILSPEC_* variables, as Mailer.from_env reads them
        flags = {} if args.on_ambiguous is None else {"on_ambiguous": args.on_ambiguous}
        mailer = mailer_from_env(providers=_providers_from(args, stack), **flags)
        if bulk:
            return send_file(
                mailer.send_many,
                Path(args.file),
                lambda fields: message_of(fields, args, source="the line", missing="on the line"),
                concurrency=args.concurrency or DEFAULT_CONCURRENCY,
                as_json=args.json,
                stdout=sys.stdout,
                stderr=sys.stderr,
                hide=lambda text: _hide(text, args),
            )
        result = mailer.send(_message_from(args))
        if args.json:
            print(
                json.dumps(
                    {
                        "provider": result.provider,
                        "message_ids": result.message_ids,
                        "attempts": attempts_json(result.attempts),
                    },
                    indent=2,
                )
            )
        else:
            print(
                f"accepted by {result.provider}: {' '.join(result.message_ids) or '(no ids returned)'}"
            )
    return 0


def _mailer_from(args: argparse.Namespace, stack: contextlib.ExitStack) -> Any:
    """A Mailer of the command's providers and every other ``MAILSPEC_*`` setting."""
    from .mailer.config import mailer_from_env

    return mailer_from_env(providers=_providers_from(args, stack))


def _cmd_status(args: argparse.Namespace) -> int:
    from .errors import NotFoundError
    from .mailer import Mailer

    if any(not i.strip() for i in args.ids):
        raise UsageError("a message id cannot be empty")
    with contextlib.ExitStack() as stack:
        providers = _providers_from(args, stack)
        with_status = [p for p in providers if p.capabilities.status]
        if args.name:
            chosen = [p for p in providers if p.name == args.name]
            if not chosen:
                raise UsageError(
                    f"no configured provider named {args.name!r}; "
                    f"configured: {', '.join(p.name for p in providers)}"
                )
        else:  # the first that can answer: AOTsend, say, has no status operation
            chosen = with_status[:1]
        if not chosen or not chosen[0].capabilities.status:
            names = chosen[0].name if chosen else ", ".join(p.name for p in providers)
            others = ", ".join(p.name for p in with_status)
            raise UsageError(
                f"{names} cannot report status"
                + (f"; ask one that can with --name ({others})" if others else "")
            )
        provider = chosen[0]
        try:
            statuses = Mailer([provider]).status(
                SendResult(provider=provider.name, message_ids=args.ids)
            )
        except NotFoundError as exc:  # CloudMails answers an unknown id with 404
            statuses, missing = [], list(args.ids)
            why = f" ({exc})"
        else:
            found = {s.message_id for s in statuses}
            missing = [i for i in args.ids if i not in found]
            why = ""
    if args.json:
        print(json.dumps([msgspec.to_builtins(s) for s in statuses], indent=2))
    else:
        for s in statuses:
            reason = f" ({s.reason.value})" if s.reason else ""
            print(
                f"{s.message_id}  {s.recipient or '-'}  {s.state.value}{reason}  {s.timestamp or ''}"
            )
    if missing:  # an id nobody knows is an answer too, not a silent success
        why += _FRESH_SANDBOX if args.sandbox else ""
        print(
            f"error: no status found at {provider.name} for {', '.join(missing)}{why}",
            file=sys.stderr,
        )
        return 1
    return 0


# `status --sandbox` asks sandbox servers started for this one command
_FRESH_SANDBOX = (
    " (--sandbox starts fresh sandbox servers, which hold no message yet; to ask a "
    "running `mailspec sandbox`, set MAILSPEC_PROVIDERS as it prints and leave out --sandbox)"
)

DEFAULT_SECRET_ENV = "MAILSPEC_WEBHOOK_SECRET"


def _cmd_webhook_verify(args: argparse.Namespace) -> int:
    """Verify and parse one stored webhook request, as a receiver would."""
    from .webhooks import parse

    headers: dict[str, str] = {}
    for line in args.header or []:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValidationError(f"expected 'Name: value', got {line[:60]!r}", field="header")
        headers[name.strip()] = value.strip()
    try:
        body = sys.stdin.buffer.read() if args.body == "-" else Path(args.body).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {args.body}: {exc.strerror}", field="body") from None
    if args.now is not None and not math.isfinite(args.now):
        raise ValidationError("--now must be a finite number of seconds", field="now")
    # the secret comes from the environment: a flag's value would land in shell history
    secret = os.environ.get(args.secret_env) or None
    events = parse(
        args.provider,
        body,
        headers,
        secret=secret,
        now=args.now,
        url=args.url,
        verify=not args.no_verify,
    )
    if args.no_verify:
        print("note: not verified (--no-verify)", file=sys.stderr)
    elif secret is None:
        print(
            f"note: not verified: {args.provider} signs nothing and ${args.secret_env} is not set",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(msgspec.to_builtins(events), indent=2))
        return 0
    for event in events:
        reason = f" ({event.reason.value})" if event.reason else ""
        when = event.timestamp.isoformat() if event.timestamp else "-"
        print(
            f"{event.type.value}{reason}  {event.event}  {event.message_id or '-'}  "
            f"{event.recipient or '-'}  {when}"
        )
    return 0


_DESCRIPTION = """\
mailspec puts transactional-email providers ({providers}) behind one send() and
status(), with failover between them. From the command line: send a message, ask for
its delivery status, run a local sandbox of the providers, explain their status codes,
verify webhooks, regenerate the clients from their YAML specs, and compare and review
specs."""

_EPILOG = """\
Providers are URLs, PROVIDER://CREDENTIALS@REGION (for example
aurorasendcloud://USER:KEY@us), from --provider or $MAILSPEC_PROVIDERS; --sandbox uses
local sandbox servers instead. Providers of your own (`mailspec generate --spec-dir DIR
--out PACKAGE`) join them from $MAILSPEC_PACKAGES (package names, space- or
comma-separated) or an installed entry point in the group mailspec.providers. Errors are
one line on stderr: exit 2 for a bad argument, 1 when the command ran and failed.
`mailspec COMMAND --help` describes each command."""


def build_parser() -> argparse.ArgumentParser:
    from .registry import available

    parser = _Parser(
        prog="mailspec",
        description=_DESCRIPTION.format(providers=", ".join(available())),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--version", action="version", version=f"mailspec {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    send = sub.add_parser(
        "send",
        help="send a message (or a file of them) through the configured providers, with failover",
        description="Send one message through the providers, in order: when one fails in a "
        "way another may not, the next is tried. Prints the provider that accepted it and "
        "the message ids (what `mailspec status` asks about). A --file ending in .jsonl "
        "holds many messages, one JSON object a line, sent --concurrency at a time: "
        "progress goes to stderr, then a summary (or with --json one outcome per line, in "
        "the file's order); a line that is not a message is reported and skipped. Exit 1 "
        "when any message was not sent.",
    )
    _provider_options(send)
    send.add_argument(
        "--file",
        metavar="PATH",
        help="a TOML (.toml) or JSON file holding Message fields (from_email, to, subject, "
        "html, text, attachments, ...), or a .jsonl file of many such objects, one a line; "
        "the flags below override it (each line of a .jsonl). An attachment is "
        '{"filename": ..., "content": BASE64, "content_type": ...}: content is the '
        "file's bytes in base64",
    )
    send.add_argument(
        "--concurrency",
        type=_positive,
        metavar="N",
        help=f"messages of a .jsonl --file in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    send.add_argument("--from", dest="from_email", metavar="ADDRESS", help="the sender's address")
    send.add_argument("--from-name", metavar="NAME", help="the sender's display name")
    send.add_argument("--to", action="append", metavar="ADDRESS", help="a recipient; repeatable")
    send.add_argument("--cc", action="append", metavar="ADDRESS", help="a copy; repeatable")
    send.add_argument("--bcc", action="append", metavar="ADDRESS", help="a blind copy; repeatable")
    send.add_argument("--subject", help="the subject line")
    send.add_argument("--html", metavar="HTML", help="the HTML body")
    send.add_argument("--text", metavar="TEXT", help="the plain-text body")
    send.add_argument(
        "--template", metavar="NAME", help="a template stored at the provider, instead of a body"
    )
    send.add_argument(
        "--var",
        action="append",
        type=_name_value,
        metavar="NAME=VALUE",
        help="a template variable; repeatable (added to the file's variables)",
    )
    send.add_argument(
        "--on-ambiguous",
        choices=("stop", "failover"),
        default=None,
        help="when a provider may have sent the message (a timeout after the request went "
        "out): stop, so it goes out at most once (default: $MAILSPEC_ON_AMBIGUOUS, else "
        "stop), or fail over, so it goes out at least once",
    )
    send.set_defaults(run=_cmd_send)

    status = sub.add_parser(
        "status",
        help="the delivery status of sent messages",
        description="Ask one provider for the delivery status of message ids it returned. "
        "Prints one line per message and recipient; an id the provider has no status for "
        "is named on stderr, with exit 1.",
    )
    _provider_options(status)
    status.add_argument(
        "--name",
        metavar="PROVIDER",
        help="which configured provider to ask (default: the first that reports status)",
    )
    status.add_argument("ids", nargs="+", metavar="ID", help="the provider's message ids")
    status.set_defaults(run=_cmd_status)

    sandbox = sub.add_parser(
        "sandbox",
        help="run local servers that behave like the providers",
        description="Run local servers on 127.0.0.1 that behave like the providers, and "
        "print each one's base URL and (not secret) credentials; stops on Ctrl-C.",
        allow_abbrev=False,
    )
    sandbox.add_argument(
        "providers", nargs="*", metavar="PROVIDER", help="which providers (default: all)"
    )
    sandbox.add_argument(
        "--port",
        type=_port,
        default=0,
        help="listen on this port of 127.0.0.1 (one provider only; default: any free port)",
    )
    sandbox.add_argument(
        "--seconds",
        type=_seconds,
        default=0,
        help="stop after this many seconds (default 0: run until Ctrl-C)",
    )
    sandbox.add_argument(
        "--latency",
        type=_latency,
        metavar="SECONDS",
        help="delay every answer by this many seconds (0.1), or by a random time in a "
        "range (0.05-0.3), as a real provider takes time to answer (default: none)",
    )
    sandbox.add_argument(
        "--webhook-url",
        metavar="URL",
        help="post each provider's signed webhook events to URL/<provider> (an http:// or "
        "https:// URL; providers that post no webhooks are named)",
    )
    sandbox.add_argument(
        "--webhook-secret-env",
        metavar="NAME",
        default=DEFAULT_SECRET_ENV,
        help="the environment variable holding the key events are signed with "
        f"(default {DEFAULT_SECRET_ENV})",
    )
    sandbox.add_argument("--json", action="store_true", help="machine-readable output")
    sandbox.set_defaults(run=_cmd_sandbox)

    demo = sub.add_parser(
        "demo",
        help="failover between sandbox providers, with a checked summary",
        description="Send messages through sandbox providers that fail on purpose, and "
        "check that every message was delivered once and reported by its webhook; exit 1 "
        "when the summary does not add up.",
    )
    demo.add_argument(
        "--messages", type=int, default=40, metavar="N", help="how many messages (default 40)"
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(run=_cmd_demo)

    codes = sub.add_parser(
        "codes",
        help="explain a provider's status codes",
        description="Explain a provider's status codes: category, whether a retry may "
        "succeed, and the provider's message.",
    )
    codes.add_argument("provider", metavar="PROVIDER", help="a provider's name")
    codes.add_argument(
        "code", type=int, nargs="?", metavar="CODE", help="one code (default: the whole table)"
    )
    codes.add_argument("--json", action="store_true", help="machine-readable output")
    codes.set_defaults(run=_cmd_codes)

    providers = sub.add_parser(
        "providers",
        help="the capability matrix of every provider spec",
        description="What each provider supports, from its spec: one row per provider.",
    )
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    providers.set_defaults(run=_cmd_providers)

    gen = sub.add_parser(
        "generate",
        help="regenerate clients from the YAML specs, or check them",
        description="Regenerate the provider clients and spec/schema.json from the YAML "
        "specs (needs the codegen extra). A spec mistake is reported with file, line and "
        "field, and nothing is written.",
    )
    gen.add_argument(
        "--spec-dir",
        type=Path,
        metavar="DIR",
        help="the folder of provider specs (default: mailspec's spec/)",
    )
    gen.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="the folder to write the package of clients to: needed with a --spec-dir of "
        "your own, and never inside mailspec (default: mailspec's generated/)",
    )
    gen.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the output is not up to date"
    )
    gen.add_argument(
        "--changes",
        action="store_true",
        help="also print each spec's changes since the package in --out was generated "
        "(as `mailspec spec diff` does, breaking or not; new and removed providers too)",
    )
    gen.set_defaults(run=_cmd_generate)

    from .cli_spec import add_spec_commands

    add_spec_commands(sub)

    from .cli_delivery import add_commands as add_delivery_commands

    add_delivery_commands(sub, _provider_options, _mailer_from, UsageError)

    webhook = sub.add_parser(
        "webhook",
        help="webhook tools (webhook verify)",
        description="Webhook tools for a receiver of provider events.",
    ).add_subparsers(dest="webhook_command", required=True, title="commands", metavar="COMMAND")
    verify = webhook.add_parser(
        "verify",
        # no prefixes: `--secret KEY` must fail, not be taken as --secret-env's NAME
        allow_abbrev=False,
        help="verify and parse a stored webhook request",
        description="Verify one webhook request as a receiver would, and print its events. "
        "The secret (the webhook key, or CloudMails' shared secret) is read from an "
        "environment variable, never from a flag.",
    )
    verify.add_argument("provider", metavar="PROVIDER", help="the provider that posted it")
    verify.add_argument(
        "--body", default="-", metavar="FILE", help="a file holding the body, or - for stdin"
    )
    verify.add_argument(
        "--header", action="append", metavar="'NAME: VALUE'", help="a request header; repeatable"
    )
    verify.add_argument(
        "--url",
        help="the request URL, with its query string (where CloudMails' ?secret= is checked)",
    )
    verify.add_argument(
        "--secret-env",
        default=DEFAULT_SECRET_ENV,
        metavar="NAME",
        help=f"the environment variable holding the secret (default {DEFAULT_SECRET_ENV})",
    )
    verify.add_argument(
        "--now", type=float, metavar="EPOCH", help="check timestamps against this time"
    )
    verify.add_argument("--no-verify", action="store_true", help="parse without verifying")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(run=_cmd_webhook_verify)
    return parser


def _provider_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        action="append",
        metavar="URL",
        help="a provider URL, e.g. aurorasendcloud://USER:KEY@us; repeatable, in failover "
        "order (default: $MAILSPEC_PROVIDERS, space- or comma-separated)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use sandbox providers started for this command instead (empty: they hold no "
        "message sent before; a running `mailspec sandbox` prints its MAILSPEC_PROVIDERS)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


PACKAGES_ENV = "MAILSPEC_PACKAGES"


def _register_packages() -> None:
    """Register the packages of providers named in $MAILSPEC_PACKAGES (space- or
    comma-separated), as ``mailspec.register()`` does for a program; one that cannot be
    registered is left out (and told of), as a broken entry point is."""
    from .registry import register_from

    for package in os.environ.get(PACKAGES_ENV, "").replace(",", " ").split():
        register_from(f"${PACKAGES_ENV}", package)


def _working_directory_importable() -> None:
    """Packages in the working directory import from the ``mailspec`` console script as
    from ``python -m mailspec`` (which puts it on sys.path). Appended, not put first:
    a file in the working directory never shadows a module mailspec or Python needs."""
    here = os.getcwd()
    if not {"", here} & set(sys.path):
        sys.path.append(here)


class _WarningsToStderr(logging.Handler):
    """The registry's warnings (a package of providers left out, and why) as
    ``warning:`` lines on stderr: mailspec's log records go nowhere unless the program
    sets logging up, and the command line does not."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def _show_registry_warnings() -> None:
    _show_warnings("mailspec.registry")


def _show_warnings(name: str) -> None:
    """The WARNING records of logger ``name`` as ``warning:`` lines on stderr."""
    logger = logging.getLogger(name)
    if not any(isinstance(handler, _WarningsToStderr) for handler in logger.handlers):
        logger.addHandler(_WarningsToStderr(logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    _working_directory_importable()  # before any package of providers is named
    _show_registry_warnings()
    try:
        _register_packages()
        parser = build_parser()
    except MailspecError as exc:  # mailspec's own providers cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except MailspecError as exc:  # one clear line, never a traceback
        if getattr(args, "json", False):
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mailspec codes x | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C before the command's own wait: no traceback
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback, never a key
        message = _hide(f"{type(exc).__name__}: {exc}", args)
        print(f"error: unexpected {message} (a bug in mailspec: please report it)", file=sys.stderr)
        return 1
    return code


def _hide(text: str, args: argparse.Namespace) -> str:
    """``text`` without the credentials of any provider URL the command was given, nor
    the webhook secret."""
    urls = [
        *(getattr(args, "provider", None) or []),
        *os.environ.get("MAILSPEC_PROVIDERS", "").replace(",", " ").split(),
    ]
    secrets: set[str] = set()
    for url in urls:
        userinfo = url.partition("://")[2].rpartition("@")[0]
        secrets.update(part for v in userinfo.split(":") for part in (v, unquote(v)))
    for name in (DEFAULT_SECRET_ENV, getattr(args, "secret_env", None)):
        secrets.add(os.environ.get(name or "", ""))
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
