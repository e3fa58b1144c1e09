"""The SendCloud platform's ``X-SMTPAPI`` substitution object.

``{"to": [...], "sub": {"%name%": [one value per recipient]}}``: one list of values per
variable, in the order of ``to``. The REST send carries it as the ``xsmtpapi`` form
parameter and SMTP as the ``X-SMTPAPI`` header, so both build it here.
"""

from __future__ import annotations

import json
from typing import Any

from ..message import Message

__all__ = ["DEFAULT_SYNTAX", "xsmtpapi", "xsmtpapi_header"]

DEFAULT_SYNTAX = "%{name}%"


def xsmtpapi(message: Message, variable_syntax: str = "") -> dict[str, Any]:
    """The substitution object for ``message``; per-recipient values win over the
    message-wide ``variables``, and a recipient without a value gets ``""``.
    ``variable_syntax`` spells a placeholder (``"%{name}%"``: ``%name%``)."""
    syntax = variable_syntax or DEFAULT_SYNTAX
    names = sorted(
        {*message.variables, *(k for v in message.recipient_variables.values() for k in v)}
    )
    sub = {
        syntax.format(name=name): [
            message.recipient_variables.get(to, {}).get(name, message.variables.get(name, ""))
            for to in message.to
        ]
        for name in names
    }
    return {"to": list(message.to), "sub": sub}


def xsmtpapi_header(message: Message, variable_syntax: str = "") -> str:
    """The object as a header value: ASCII-only JSON (non-ASCII values as ``\\uXXXX``,
    so the header needs no RFC 2047 encoding a server would have to undo), with the
    usual ``", "`` separators, whose spaces are where a long header line may fold."""
    return json.dumps(xsmtpapi(message, variable_syntax), ensure_ascii=True, sort_keys=True)
