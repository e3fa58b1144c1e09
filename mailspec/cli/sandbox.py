"""``mailspec sandbox`` and ``mailspec demo``: local servers that behave like the
providers, and failover between them."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from ..errors import ValidationError
from .common import (
    DEFAULT_SECRET_ENV,
    UsageError,
    port_arg,
    seconds_arg,
    show_warnings,
)


def _latency(text: str) -> tuple[float, float]:
    """``--latency``, as argparse's ``type``: seconds, or a range LOW-HIGH of them."""
    from ..sandbox.latency import parse_latency

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

    from ..registry import available, spec
    from ..sandbox import Sandbox

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
            show_warnings("mailspec.sandbox")  # an event the receiver refused is said
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
    from ..demo import print_report, run_demo

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


def add_commands(sub: Any) -> None:
    """Add ``sandbox`` and ``demo`` to the subcommands ``sub``."""
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
        type=port_arg,
        default=0,
        help="listen on this port of 127.0.0.1 (one provider only; default: any free port)",
    )
    sandbox.add_argument(
        "--seconds",
        type=seconds_arg,
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
