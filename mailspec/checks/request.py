"""Check a request against its operation's spec before anything is sent.

Types, required fields, formats, lengths, counts, enums, ranges and the cross-field
rules all come from the spec; a failure is a :class:`~mailspec.errors.ValidationError`
naming the parameter and, where the spec declares it, the provider's own code.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ValidationError
from ..message import Attachment
from ..spec_model import AnyOf, MaxSpan, OneOf, Operation, Param
from .addresses import PHONE, is_email, is_mailbox

__all__ = ["check_request"]

_FORMATS: dict[str, Callable[[object], bool]] = {
    "email": is_email,
    "mailbox": is_mailbox,
    "phone": lambda v: isinstance(v, str) and PHONE.fullmatch(v) is not None,
}
_SURROGATE = re.compile("[\ud800-\udfff]")
# what an error calls each format: the phone form is not obvious, so it is spelled out
_FORMAT_NAMES = {
    "email": "email",
    "mailbox": "address or 'Name <address>'",
    "phone": "E.164 phone number (+, country code, 7-15 digits)",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "date": (datetime.date,),
    "list[str]": (list,),
    "json": (dict, list),
    "object": (dict,),
    "list[object]": (list,),
    "files": (list,),
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def check_request(provider: str, operation: Operation, values: Mapping[str, Any]) -> None:
    """``values`` maps parameter names to values (None where not given)."""
    given: set[str] = set()  # the parameters given (not empty), for the rules
    for name, param in operation.params.items():
        value = values.get(name)
        if _empty(value):
            # a parameter's own default (Postmark's TemplateModel {}) is given, not empty
            if param.required and (value is None or value != param.default):
                _fail(provider, name, param, "required", "is required")
            continue
        given.add(name)
        _check_param(provider, name, param, value)
    for rule in operation.rules:
        _check_rule(provider, rule, values, given)


def _fail(
    provider: str,
    name: str,
    param: Param | None,
    constraint: str,
    message: str,
    code: int | None = None,
) -> None:
    if code is None and param is not None:
        code = param.codes.get(constraint)  # type: ignore[call-overload]
    raise ValidationError(message, field=name, provider=provider, code=code)


def _check_param(provider: str, name: str, p: Param, value: Any) -> None:
    if p.const is not None and value != p.const:
        _fail(provider, name, p, "enum", f"must be {p.const!r}, got {value!r}")
    if p.date_format is not None and isinstance(value, datetime.date):
        return  # a date or time, written in the parameter's date_format
    expected = _TYPES[p.type]
    if not isinstance(value, expected) or (p.type == "int" and isinstance(value, bool)):
        _fail(provider, name, p, "format", f"expected {p.type}, got {type(value).__name__}")
    items = value if p.type in ("list[str]", "list[object]", "files") else [value]
    if p.type == "list[str]" and not all(isinstance(v, str) for v in items):
        _fail(provider, name, p, "format", "expected a list of strings")
    if p.type in ("str", "list[str]"):
        for item in items:
            # UTF-8 cannot encode a lone surrogate: the encoder would raise (ASCII has none)
            if not item.isascii() and _SURROGATE.search(item):
                _fail(provider, name, None, "", "cannot be encoded as UTF-8 (a lone surrogate)")
    if p.type == "list[object]" and not all(isinstance(v, dict) for v in items):
        _fail(provider, name, p, "format", "expected a list of objects")
    if p.type == "files" and not all(isinstance(v, Attachment) for v in items):
        _fail(provider, name, p, "format", "expected a list of Attachment")
    if p.max_items is not None and len(items) > p.max_items:
        _fail(provider, name, p, "max_items", f"at most {p.max_items} items, got {len(items)}")
    if p.format is not None:
        valid = _FORMATS[p.format]
        for item in items:
            if not valid(item):
                _fail(
                    provider, name, p, "format", f"not a valid {_FORMAT_NAMES[p.format]}: {item!r}"
                )
    if p.max_length is not None and len(value) > p.max_length:
        _fail(
            provider, name, p, "max_length", f"at most {p.max_length} characters, got {len(value)}"
        )
    if p.values is not None and not _among(value, p.values.values()):
        words = ", ".join(map(str, p.values.values()))
        _fail(provider, name, p, "enum", f"must be one of {words}, got {value!r}")
    if p.enum is not None and value not in p.enum:
        _fail(
            provider,
            name,
            p,
            "enum",
            f"must be one of {', '.join(map(str, p.enum))}, got {value!r}",
        )
    if p.minimum is not None and value < p.minimum:
        _fail(provider, name, p, "range", f"must be at least {p.minimum}, got {value}")
    if p.maximum is not None and value > p.maximum:
        _fail(provider, name, p, "range", f"must be at most {p.maximum}, got {value}")
    if p.max_total_bytes is not None:
        total = sum(len(a.content) for a in items)
        if total > p.max_total_bytes:
            _fail(
                provider,
                name,
                p,
                "max_total_bytes",
                f"at most {p.max_total_bytes} bytes in all, got {total}",
            )


def _check_rule(
    provider: str, rule: OneOf | AnyOf | MaxSpan, values: Mapping[str, Any], given: set[str]
) -> None:
    if isinstance(rule, OneOf):
        full = [g for g in rule.groups if set(g) <= given]
        partial = [g for g in rule.groups if set(g) & given and not set(g) <= given]
        options = " or ".join("+".join(g) for g in rule.groups)
        if partial:
            _fail(
                provider,
                "+".join(partial[0]),
                None,
                "",
                f"give all of these or none (one of: {options})",
                rule.code,
            )
        if len(full) != 1:
            _fail(
                provider,
                "+".join(rule.groups[0]),
                None,
                "",
                f"give exactly one of: {options}",
                rule.code,
            )
    elif isinstance(rule, AnyOf):
        if not given & set(rule.params):
            _fail(
                provider,
                "+".join(rule.params),
                None,
                "",
                f"give at least one of: {', '.join(rule.params)}",
                rule.code,
            )
    elif rule.start in given and rule.end in given:
        start, end = values[rule.start], values[rule.end]
        if end < start:
            _fail(provider, rule.end, None, "", f"{rule.end} is before {rule.start}", rule.code)
        if (end - start).days + 1 > rule.days:
            _fail(
                provider,
                rule.end,
                None,
                "",
                f"the span may cover at most {rule.days} days",
                rule.code,
            )


def _among(value: object, words: Iterable[object]) -> bool:
    """``value`` is one of ``words``, of the same type (True is not 1)."""
    return any(type(word) is type(value) and word == value for word in words)
