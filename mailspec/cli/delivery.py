"""``mailspec suppressions list|add|remove|sync`` and ``mailspec redeliver``: the
Mailer's suppression list and its redelivery, from the command line, on the store and
providers the other commands use (``MAILSPEC_PROVIDERS``/``--provider``,
``MAILSPEC_STORE``, ``MAILSPEC_REDELIVER_AFTER``…, as ``Mailer.from_env`` reads them).

The list lives in the store: with the default ``memory://`` it would be forgotten when
the command ends, so these commands refuse a store other processes do not share.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from ..mailer import Mailer
from .common import UsageError, mailer_from, provider_options

__all__ = ["add_commands"]

MailerFrom = Callable[[argparse.Namespace, contextlib.ExitStack], Mailer]


def _shared_mailer(args: argparse.Namespace, stack: contextlib.ExitStack) -> Mailer:
    """The command's Mailer, when its store is one other processes share."""
    mailer: Mailer = mailer_from(args, stack)
    if not getattr(mailer.store, "shared", False):
        raise UsageError(
            "the suppression list and redelivery live in the store: set MAILSPEC_STORE "
            "to the sqlite:// or redis:// store your application uses"
        )
    return mailer


def add_commands(sub: Any) -> None:
    """Add ``suppressions`` and ``redeliver`` to the subcommands ``sub``."""
    suppressions = sub.add_parser(
        "suppressions",
        help="the addresses no provider sends to (bounced, complained, unsubscribed)",
        description="The Mailer's suppression list, in the store of $MAILSPEC_STORE: every "
        "provider leaves these addresses out of every message.",
    ).add_subparsers(
        dest="suppressions_command", required=True, title="commands", metavar="COMMAND"
    )

    listing = suppressions.add_parser(
        "list",
        help="print the suppressed addresses",
        description="Print each suppressed address, why, which provider reported it and when.",
    )
    provider_options(listing)
    listing.set_defaults(run=lambda args: _list(args, _shared_mailer))

    add = suppressions.add_parser(
        "add",
        help="suppress addresses",
        description="Suppress addresses for every provider (an address already suppressed "
        "keeps its first reason).",
    )
    provider_options(add)
    add.add_argument("addresses", nargs="+", metavar="ADDRESS", help="an address to suppress")
    add.add_argument("--reason", default="manual", help="why (default: manual)")
    add.set_defaults(run=lambda args: _add(args, _shared_mailer))

    remove = suppressions.add_parser(
        "remove",
        help="suppress addresses no more",
        description="Suppress addresses no more; exit 1 naming those that were not suppressed.",
    )
    provider_options(remove)
    remove.add_argument(
        "addresses", nargs="+", metavar="ADDRESS", help="an address to suppress no more"
    )
    remove.set_defaults(run=lambda args: _remove(args, _shared_mailer))

    sync = suppressions.add_parser(
        "sync",
        help="add what the providers' status lookups report (bounces, complaints, unsubscribes)",
        description="Ask each provider with a status operation for its recent delivery "
        "records and suppress the addresses they report bounced, complained or "
        "unsubscribed. None of the providers' specs declares a suppression API, so "
        "nothing is pushed to them.",
    )
    provider_options(sync)
    sync.set_defaults(run=lambda args: _sync(args, _shared_mailer))

    redeliver = sub.add_parser(
        "redeliver",
        help="send messages with no delivery report (or dropped) once more, elsewhere",
        description="Send each message that is due once more through the next provider "
        "that has not had it, under the same idempotency key (see `Mailer.redeliver_due`); "
        "needs $MAILSPEC_REDELIVER_AFTER and the store the senders use. --poll asks the "
        "providers' status lookups first. Run it from cron, or use the Celery beat task.",
    )
    provider_options(redeliver)
    redeliver.add_argument("--poll", action="store_true", help="poll the providers first")
    redeliver.set_defaults(run=lambda args: _redeliver(args, _shared_mailer))


def _list(args: argparse.Namespace, mailer_from: MailerFrom) -> int:
    with contextlib.ExitStack() as stack:
        found = list(mailer_from(args, stack).suppressions)
    if args.json:
        print(json.dumps(msgspec.to_builtins(found), indent=2))
        return 0
    for s in found:
        print(f"{s.address}  {s.reason}  {s.provider or '-'}  {s.at.isoformat()}")
    return 0


def _add(args: argparse.Namespace, mailer_from: MailerFrom) -> int:
    with contextlib.ExitStack() as stack:
        suppressions = mailer_from(args, stack).suppressions
        for address in args.addresses:
            kept = suppressions.add(address, args.reason)
            print(f"suppressed {kept.address} ({kept.reason})")
    return 0


def _remove(args: argparse.Namespace, mailer_from: MailerFrom) -> int:
    missing = []
    with contextlib.ExitStack() as stack:
        suppressions = mailer_from(args, stack).suppressions
        for address in args.addresses:
            if suppressions.remove(address):
                print(f"removed {address}")
            else:
                missing.append(address)
    if missing:
        print(f"error: not suppressed: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _sync(args: argparse.Namespace, mailer_from: MailerFrom) -> int:
    with contextlib.ExitStack() as stack:
        done = mailer_from(args, stack).suppressions.sync()
    if args.json:
        print(json.dumps(done, indent=2))
        return 0
    for provider, what in done.items():
        print(f"{provider}: {what}")
    return 0


def _redeliver(args: argparse.Namespace, mailer_from: MailerFrom) -> int:
    with contextlib.ExitStack() as stack:
        mailer = mailer_from(args, stack)
        if mailer.redeliver_after is None:
            raise UsageError("set MAILSPEC_REDELIVER_AFTER (seconds): without it nothing is due")
        polled = mailer.poll() if args.poll else 0
        results = mailer.redeliver_due()
    if args.json:
        print(json.dumps({"polled_events": polled, "redelivered": msgspec.to_builtins(results)}))
        return 0
    if args.poll:
        print(f"polled: {polled} new events")
    for result in results:
        print(
            f"redelivered {result.idempotency_key} through {result.provider}: "
            f"{' '.join(result.message_ids) or '(no ids returned)'}"
        )
    print(f"{len(results)} redelivered")
    return 0
