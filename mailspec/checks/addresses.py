"""What an email address, a mailbox and a phone number look like to every check."""

from __future__ import annotations

import re

__all__ = ["CONTROL", "EMAIL", "PHONE", "is_email", "is_mailbox"]

# C0 controls, DEL and C1 controls: no address, header line or form field holds one
CONTROL = "\x00-\x1f\x7f-\x9f"

# A deliberately plain address check. The local part: no white space, no control
# character, no lone surrogate (UTF-8 cannot encode one), and none of the characters
# that would split a joined recipient list (`;`, `,`), open a header (CR, LF) or quote.
# The domain: dotted labels of letters, digits and hyphens, internationalized (non-ASCII)
# letters and digits included ([^\W_] is \w without the underscore), so nothing that
# ends a URL's host (`/ ? #`), no `_`, no punctuation.
_LOCAL = rf"[^\s@;,<>\"'\\()\[\]{CONTROL}\ud800-\udfff]+"
_LABEL = r"(?:[^\W_]|-)+"
EMAIL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164
# `Name <address>`, as a person types a mailbox
_NAME_ADDR = re.compile(rf"[^<>{CONTROL}]*<([^<>]+)>")


def is_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and EMAIL.fullmatch(value) is not None


def is_mailbox(value: object) -> bool:
    """An address, or a display name and an address in angle brackets."""
    if is_email(value):
        return True
    found = _NAME_ADDR.fullmatch(value) if isinstance(value, str) else None
    return found is not None and is_email(found.group(1))
