"""``mailspec codes`` and ``mailspec providers``: what the provider specs say."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ValidationError


def _cmd_codes(args: argparse.Namespace) -> int:
    from .. import registry

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
    from .. import registry

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


def add_commands(sub: Any) -> None:
    """Add ``codes`` and ``providers`` to the subcommands ``sub``."""
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
