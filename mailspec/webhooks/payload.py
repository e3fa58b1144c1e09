"""A webhook body -> the list of event dicts it holds, or :class:`WebhookPayloadError`.

A provider posts one event as a form or a JSON object, or several as a JSON array of
objects. ``Content-Type`` says which; without one the body is sniffed (JSON starts
with ``{`` or ``[``). An encoding the provider's spec does not list is refused: a
receiver should not accept what the provider never sends.

The spec's ``records`` path says where the events are in what was decoded: ``.`` (the
body itself, one event or a list of them), or a path into an envelope (SNS's
``Message``, a JSON document inside a JSON string, is read as JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl

import msgspec

from ..errors import WebhookPayloadError
from ..spec_paths import PathError, Step, read_path

__all__ = ["MAX_FORM_FIELDS", "decode", "header"]

Encoding = Literal["form", "json"]

# a form event has a dozen fields; far more is not an event, and parse_qsl's cost grows with it
MAX_FORM_FIELDS = 1000

_MEDIA_TYPES: dict[str, Encoding] = {
    "application/x-www-form-urlencoded": "form",
    "application/json": "json",
    "text/json": "json",
}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, whatever the case of the keys in ``headers``."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def decode(
    provider: str,
    body: bytes | str,
    content_type: str | None,
    accepted: Sequence[Encoding],
    records: tuple[Step, ...] = (),
) -> list[dict[str, Any]]:
    """The events in ``body``, each the dict of its fields as received."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookPayloadError(provider, "the body is not UTF-8 text") from None
    else:
        text = body
    encoding = _encoding(provider, content_type, text)
    if encoding not in accepted:
        raise WebhookPayloadError(
            provider,
            f"{provider} posts {' or '.join(accepted)} bodies, not {encoding}",
        )
    value = _form(provider, text) if encoding == "form" else _json(provider, text)
    return _records(provider, value, records)


def _encoding(provider: str, content_type: str | None, text: str) -> Encoding:
    if content_type is None or not content_type.strip():
        return "json" if text.lstrip()[:1] in ("{", "[") else "form"
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[media_type]
    if media_type.startswith("application/") and media_type.endswith("+json"):
        return "json"
    if media_type == "text/plain" and text.lstrip()[:1] in ("{", "["):
        # Amazon SNS posts its JSON notifications as text/plain (Amazon SNS Developer
        # Guide, HTTP/HTTPS notification JSON format)
        return "json"
    # not echoed in full: a header is the sender's text, and may be long
    raise WebhookPayloadError(provider, f"unsupported Content-Type {media_type[:60]!r}")


def _form(provider: str, text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        raise WebhookPayloadError(provider, "the body is not form data") from None
    event: dict[str, Any] = {}
    for name, value in pairs:
        # a second value could make the signed field and the read field differ
        if name in event:
            raise WebhookPayloadError(provider, f"form field {name[:60]!r} is given twice")
        event[name] = value
    return event


def _json(provider: str, text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError, ValueError):
        raise WebhookPayloadError(provider, "the body is not JSON") from None


def _records(provider: str, body: Any, records: tuple[Step, ...]) -> list[dict[str, Any]]:
    """The events at the ``records`` path: a list of them, or one."""
    try:
        value = read_path(body, records)
    except PathError:
        raise WebhookPayloadError(provider, "the events are in text that is not JSON") from None
    if value is None:
        raise WebhookPayloadError(provider, "the body holds no events where the spec says")
    if isinstance(value, str) and records:
        value = _json(provider, value)  # an envelope's event, as JSON text
    events = value if isinstance(value, list) else [value]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise WebhookPayloadError(
                provider, f"event {index} is not an object (expected an object or a list of them)"
            )
    return events
