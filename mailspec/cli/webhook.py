"""``mailspec webhook verify``: verify and parse a stored webhook request, as a
receiver would."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ValidationError
from .common import (
    DEFAULT_SECRET_ENV,
)


def _cmd_webhook_verify(args: argparse.Namespace) -> int:
    """Verify and parse one stored webhook request, as a receiver would."""
    from ..webhooks import parse

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


def add_commands(sub: Any) -> None:
    """Add ``webhook verify`` to the subcommands ``sub``."""
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
