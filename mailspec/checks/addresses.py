"""What an email address and a phone number look like to every check."""

from __future__ import annotations

import re

__all__ = ["EMAIL", "PHONE", "is_email"]

# A deliberately plain address check: one @, a dotted domain, and none of the characters
# that would split a joined recipient list (`;`, `,`), open a header (CR, LF) or quote.
EMAIL = re.compile(r"[^\s@;,<>\"'\\()\[\]]+@[^\s@;,<>\"'\\()\[\].]+(?:\.[^\s@;,<>\"'\\()\[\].]+)+")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164


def is_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and EMAIL.fullmatch(value) is not None
