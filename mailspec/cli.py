"""``mailspec`` on the command line: generate, codes, providers."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

_PROJECT = Path(__file__).resolve().parent.parent


def _default_dir(name: str) -> Path:
    """spec/ and generated/ of the checkout this package runs from, else of the cwd."""
    here = _PROJECT / name
    return here if (_PROJECT / "spec").is_dir() else Path(name)


def _cmd_generate(args: argparse.Namespace) -> int:
    try:
        from .codegen import SpecError, generate
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
    for line in drift.lines() + (["wrote:   schema.json"] if schema_stale else []):
        print(line)
    print("generated code is up to date" if not drift and not schema_stale else "done")
    return 0


def _cmd_codes(args: argparse.Namespace) -> int:
    from . import registry
    from .errors import ValidationError

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
        print(f"{row.code:>6}  {row.category.value:<14} {retry:<9}  {row.message}")
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
    ports = dict.fromkeys(names, 0) if names else {}
    if args.port:
        if not names or len(names) != 1:
            print("error: --port needs exactly one provider", file=sys.stderr)
            return 2
        ports[names[0]] = args.port
    sandbox = Sandbox(names, ports=ports)
    with sandbox:
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
    sandbox = sub.add_parser("sandbox", help="run local servers that behave like the providers")
    sandbox.add_argument("providers", nargs="*", help="which providers (default: all)")
    sandbox.add_argument("--port", type=int, default=0, help="a fixed port (one provider only)")
    sandbox.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)"
    )
    sandbox.add_argument("--json", action="store_true", help="machine-readable output")
    sandbox.set_defaults(run=_cmd_sandbox)
    demo = sub.add_parser("demo", help="failover between sandbox providers, with a checked summary")
    demo.add_argument(
        "--messages", type=int, default=40, help="how many messages to send (default 40)"
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except BrokenPipeError:  # `mailspec codes x | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    return code
