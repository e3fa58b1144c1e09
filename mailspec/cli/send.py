"""``mailspec send`` and ``mailspec status``: send messages through the configured
providers, with failover, and ask for their delivery status."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ValidationError
from ..message import Message
from ..results import SendResult
from .bulk import BULK_SUFFIXES, attempts_json, send_file
from .common import (
    UsageError,
    hide,
    positive_arg,
    provider_options,
    providers_from,
)

DEFAULT_CONCURRENCY = 8  # messages in flight for `send --file many.jsonl`


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
    from ..mailer import Mailer

    bulk = args.file is not None and Path(args.file).suffix in BULK_SUFFIXES
    if args.concurrency is not None and not bulk:
        raise UsageError("--concurrency is for a --file of many messages (.jsonl)")
    with contextlib.ExitStack() as stack:
        # every other setting from the MAILSPEC_* variables, as Mailer.from_env reads them
        flags = {} if args.on_ambiguous is None else {"on_ambiguous": args.on_ambiguous}
        mailer = Mailer.from_env(providers=providers_from(args, stack), **flags)
        if bulk:
            return send_file(
                mailer.send_many,
                Path(args.file),
                lambda fields: message_of(fields, args, source="the line", missing="on the line"),
                concurrency=args.concurrency or DEFAULT_CONCURRENCY,
                as_json=args.json,
                stdout=sys.stdout,
                stderr=sys.stderr,
                hide=lambda text: hide(text, args),
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


def _cmd_status(args: argparse.Namespace) -> int:
    from ..errors import NotFoundError
    from ..mailer import Mailer

    if any(not i.strip() for i in args.ids):
        raise UsageError("a message id cannot be empty")
    with contextlib.ExitStack() as stack:
        providers = providers_from(args, stack)
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


def add_commands(sub: Any) -> None:
    """Add ``send`` and ``status`` to the subcommands ``sub``."""
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
    provider_options(send)
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
        type=positive_arg,
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
    provider_options(status)
    status.add_argument(
        "--name",
        metavar="PROVIDER",
        help="which configured provider to ask (default: the first that reports status)",
    )
    status.add_argument("ids", nargs="+", metavar="ID", help="the provider's message ids")
    status.set_defaults(run=_cmd_status)
