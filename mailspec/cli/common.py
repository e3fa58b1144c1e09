"""What the command groups share: the parser that reports a usage error on one line,
argument types, the provider options, and the providers and Mailer they name."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
from typing import Any, NoReturn
from urllib.parse import unquote

from ..errors import ValidationError


class UsageError(Exception):
    """A bad argument found after parsing: one ``error:`` line and exit 2, as argparse's."""


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (``mailspec X --help`` shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def port_arg(text: str) -> int:
    """``--port``, as argparse's ``type``."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {port}")
    return port


def positive_arg(text: str) -> int:
    """A whole number, 1 or more, as argparse's ``type``."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {number}")
    return number


def seconds_arg(text: str) -> float:
    """``--seconds``, as argparse's ``type``: finite, not negative."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number, 0 or more, got {text!r}")
    return seconds


def providers_from(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Any]:
    """Providers from --provider URLs, else MAILSPEC_PROVIDERS (space- or comma-separated),
    or every sandbox provider with --sandbox; MAILSPEC_TIMEOUT applies to either."""
    from ..mailer.config import providers_from_urls, settings_from_env

    if args.sandbox:
        from ..sandbox import Sandbox

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


def mailer_from(args: argparse.Namespace, stack: contextlib.ExitStack) -> Any:
    """A Mailer of the command's providers and every other ``MAILSPEC_*`` setting."""
    from ..mailer import Mailer

    return Mailer.from_env(providers=providers_from(args, stack))


DEFAULT_SECRET_ENV = "MAILSPEC_WEBHOOK_SECRET"


def provider_options(parser: argparse.ArgumentParser) -> None:
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


def hide(text: str, args: argparse.Namespace) -> str:
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


class _WarningsToStderr(logging.Handler):
    """The registry's warnings (a package of providers left out, and why) as
    ``warning:`` lines on stderr: mailspec's log records go nowhere unless the program
    sets logging up, and the command line does not."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def show_warnings(name: str) -> None:
    """The WARNING records of logger ``name`` as ``warning:`` lines on stderr."""
    logger = logging.getLogger(name)
    if not any(isinstance(handler, _WarningsToStderr) for handler in logger.handlers):
        logger.addHandler(_WarningsToStderr(logging.WARNING))
