"""``mailspec`` on the command line: send, status, sandbox, demo, codes, providers,
generate, spec diff, spec check, suppressions, redeliver, webhook verify, one module per
group of commands. No traceback escapes: every error is one ``error:`` line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import MailspecError
from . import delivery, generate, info, sandbox, send, spec, webhook
from .common import Parser, UsageError, hide, show_warnings

__all__ = ["build_parser", "main"]

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
    from ..registry import available

    parser = Parser(
        prog="mailspec",
        description=_DESCRIPTION.format(providers=", ".join(available())),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--version", action="version", version=f"mailspec {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    for group in (send, sandbox, info, generate, spec, delivery, webhook):
        group.add_commands(sub)
    return parser


PACKAGES_ENV = "MAILSPEC_PACKAGES"


def _register_packages() -> None:
    """Register the packages of providers named in $MAILSPEC_PACKAGES (space- or
    comma-separated), as ``mailspec.register()`` does for a program; one that cannot be
    registered is left out (and told of), as a broken entry point is."""
    from ..registry import register_from

    for package in os.environ.get(PACKAGES_ENV, "").replace(",", " ").split():
        register_from(f"${PACKAGES_ENV}", package)


def _working_directory_importable() -> None:
    """Packages in the working directory import from the ``mailspec`` console script as
    from ``python -m mailspec`` (which puts it on sys.path). Appended, not put first:
    a file in the working directory never shadows a module mailspec or Python needs."""
    here = os.getcwd()
    if not {"", here} & set(sys.path):
        sys.path.append(here)


def _show_registry_warnings() -> None:
    show_warnings("mailspec.registry")


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
        message = hide(f"{type(exc).__name__}: {exc}", args)
        print(f"error: unexpected {message} (a bug in mailspec: please report it)", file=sys.stderr)
        return 1
    return code
