"""``mailspec`` on the command line: generate, codes, providers, webhook verify."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from .errors import MailspecError, ValidationError
from .message import Message
from .results import Attempt, SendResult

__all__ = ["main"]

_PROJECT = Path(__file__).resolve().parent.parent


def _default_dir(name: str) -> Path:
    """spec/ and generated/ of the checkout this package runs from, else of the cwd."""
    here = _PROJECT / name
    return here if (_PROJECT / "spec").is_dir() else Path(name)


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
    spec_dir: Path = args.spec_dir
    try:
        drift = generate(spec_dir, args.out, check_only=args.check)
    except GenerateError as exc:  # a mistyped folder: nothing was written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    schema_path = spec_dir / "schema.json"
    schema = schema_text()
    schema_stale = not schema_path.exists() or schema_path.read_text(encoding="utf-8") != schema
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
    if schema_stale:
        schema_path.write_text(schema, encoding="utf-8")
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
            text = (
                ("yes" if value else "-")
                if isinstance(value, bool)
                else ("-" if value is None else str(value))
            )
            cells.append(text.ljust(len(label)))
        print(name.ljust(width) + "  " + "  ".join(cells).rstrip())
    return 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import threading

    from .sandbox import Sandbox

    names = args.providers or None
    if args.port and (not names or len(names) != 1):
        print("error: --port needs exactly one provider", file=sys.stderr)
        return 2
    secret = os.environ.get(args.webhook_secret_env)
    if args.webhook_url and not secret:
        print(
            f"error: --webhook-url needs the key to sign events with in ${args.webhook_secret_env}",
            file=sys.stderr,
        )
        return 2
    sandbox = Sandbox(names, ports={names[0]: args.port} if names and args.port else {})
    with sandbox:
        if args.webhook_url:
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
            print("sandbox credentials are not secret; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait(args.seconds if args.seconds else None)
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
    return 0 if report.agrees else 1


def _providers_from(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Any]:
    """Providers from --provider URLs, else MAILSPEC_PROVIDERS (space- or comma-separated),
    or every sandbox provider with --sandbox."""
    from .registry import provider_from_url

    if args.sandbox:
        from .sandbox import Sandbox

        sandbox = stack.enter_context(Sandbox())
        return [server.provider() for server in sandbox]
    urls = args.provider or os.environ.get("MAILSPEC_PROVIDERS", "").replace(",", " ").split()
    if not urls:
        raise ValidationError(
            "no provider: give --provider URL, set MAILSPEC_PROVIDERS, or use --sandbox"
        )
    return [provider_from_url(url) for url in urls]


def _message_from(args: argparse.Namespace) -> Message:
    fields: dict[str, Any] = {}
    if args.file:
        path = Path(args.file)
        try:
            text = path.read_bytes()
            fields = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read {path}: {exc}", field="file") from None
        if not isinstance(fields, dict):
            raise ValidationError("the message file must hold one object", field="file")
    flags = {
        "from_email": args.from_email,
        "from_name": args.from_name,
        "subject": args.subject,
        "html": args.html,
        "text": args.text,
        "template": args.template,
    }
    fields.update({k: v for k, v in flags.items() if v is not None})
    for name in ("to", "cc", "bcc"):
        if getattr(args, name):
            fields[name] = getattr(args, name)
    if args.var:
        fields["variables"] = _variables(fields.get("variables", {}), args.var)
    try:
        return msgspec.convert(fields, Message)
    except msgspec.ValidationError as exc:
        raise ValidationError(str(exc), field="message") from None


def _variables(given: Any, flags: Sequence[str]) -> dict[str, Any]:
    """The file's variables updated by ``--var NAME=VALUE`` flags: a flag without ``=``
    or variables that are not a mapping are a ValidationError, not a traceback."""
    if not isinstance(given, dict):
        raise ValidationError("variables must be a mapping of names to values", field="variables")
    pairs = [flag.partition("=") for flag in flags]
    bad = [name for name, equals, _ in pairs if not equals or not name]
    if bad:
        raise ValidationError(f"expected NAME=VALUE, got {bad[0]!r}", field="var")
    return {**given, **{name: value for name, _, value in pairs}}


def _cmd_send(args: argparse.Namespace) -> int:
    from .mailer import Mailer

    with contextlib.ExitStack() as stack:
        mailer = Mailer(_providers_from(args, stack), on_ambiguous=args.on_ambiguous)
        result = mailer.send(_message_from(args))
        if args.json:
            print(
                json.dumps(
                    {
                        "provider": result.provider,
                        "message_ids": result.message_ids,
                        "attempts": _attempts(result.attempts),
                    },
                    indent=2,
                )
            )
        else:
            print(
                f"accepted by {result.provider}: {' '.join(result.message_ids) or '(no ids returned)'}"
            )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from .mailer import Mailer

    with contextlib.ExitStack() as stack:
        providers = _providers_from(args, stack)
        chosen = [p for p in providers if p.name == args.name] if args.name else providers[:1]
        if not chosen:
            raise ValidationError(f"no configured provider named {args.name!r}", field="provider")
        statuses = Mailer(chosen).status(SendResult(provider=chosen[0].name, message_ids=args.ids))
    rows = [msgspec.to_builtins(s) for s in statuses]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for s in statuses:
            reason = f" ({s.reason.value})" if s.reason else ""
            print(
                f"{s.message_id}  {s.recipient or '-'}  {s.state.value}{reason}  {s.timestamp or ''}"
            )
    return 0


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


def _attempts(attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    return [
        {
            "provider": a.provider,
            "outcome": a.outcome,
            "duration": round(a.duration, 4),
            "error": str(a.error) if a.error else None,
        }
        for a in attempts
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailspec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate clients from the YAML specs")
    gen.add_argument("--spec-dir", type=Path, default=_default_dir("spec"))
    gen.add_argument("--out", type=Path, default=_default_dir("generated"))
    gen.add_argument("--check", action="store_true", help="exit 1 if the output is not up to date")
    gen.set_defaults(run=_cmd_generate)
    codes = sub.add_parser("codes", help="explain a provider's status codes")
    codes.add_argument("provider")
    codes.add_argument("code", type=int, nargs="?", help="one code (default: the whole table)")
    codes.add_argument("--json", action="store_true", help="machine-readable output")
    codes.set_defaults(run=_cmd_codes)
    providers = sub.add_parser("providers", help="the capability matrix of every provider spec")
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    providers.set_defaults(run=_cmd_providers)
    sandbox = sub.add_parser(
        "sandbox", help="run local servers that behave like the providers", allow_abbrev=False
    )
    sandbox.add_argument("providers", nargs="*", help="which providers (default: all)")
    sandbox.add_argument("--port", type=int, default=0, help="a fixed port (one provider only)")
    sandbox.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)"
    )
    sandbox.add_argument(
        "--webhook-url",
        metavar="URL",
        help="post each provider's signed webhook events to URL/<provider>",
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
    demo = sub.add_parser("demo", help="failover between sandbox providers, with a checked summary")
    demo.add_argument(
        "--messages", type=int, default=40, help="how many messages to send (default 40)"
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(run=_cmd_demo)
    send = sub.add_parser(
        "send", help="send one message through the configured providers, with failover"
    )
    _provider_options(send)
    send.add_argument("--file", help="a JSON or TOML file holding Message fields")
    send.add_argument("--from", dest="from_email")
    send.add_argument("--from-name")
    send.add_argument("--to", action="append", help="repeatable")
    send.add_argument("--cc", action="append")
    send.add_argument("--bcc", action="append")
    send.add_argument("--subject")
    send.add_argument("--html")
    send.add_argument("--text")
    send.add_argument("--template")
    send.add_argument(
        "--var", action="append", metavar="NAME=VALUE", help="a template variable; repeatable"
    )
    send.add_argument("--on-ambiguous", choices=("stop", "failover"), default="stop")
    send.set_defaults(run=_cmd_send)
    status = sub.add_parser("status", help="delivery status of sent messages")
    _provider_options(status)
    status.add_argument("--name", help="which configured provider to ask (default: the first)")
    status.add_argument("ids", nargs="+", help="the provider's message ids")
    status.set_defaults(run=_cmd_status)
    webhook = sub.add_parser("webhook", help="webhook tools").add_subparsers(
        dest="webhook_command", required=True
    )
    verify = webhook.add_parser(
        "verify",
        # no prefixes: `--secret KEY` must fail, not be taken as --secret-env's NAME
        allow_abbrev=False,
        help="verify and parse a stored webhook request",
        description="Verify one webhook request as a receiver would, and print its events. "
        "The secret (the webhook key, or CloudMails' shared secret) is read from an "
        "environment variable, never from a flag.",
    )
    verify.add_argument("provider")
    verify.add_argument("--body", default="-", help="a file holding the body, or - for stdin")
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
        help="e.g. aurorasendcloud://USER:KEY@us; repeatable, in failover order (default: $MAILSPEC_PROVIDERS)",
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="send to local sandbox providers instead"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except MailspecError as exc:  # one clear line, never a traceback
        if getattr(args, "json", False):
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `mailspec codes x | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    return code
