"""The unified :class:`Event`, built from one decoded event dict by the spec's tables.

Where each part is comes from ``webhooks.fields``, as payload paths (see
:mod:`.paths`: ``event-data.event``, ``data.to[0]``); an event type may place a part
elsewhere (its row's ``fields``: Postmark's bounce names the recipient ``Email``, its
delivery ``Recipient``). The provider's event name is looked up in ``webhooks.events``
(a name the table does not list is kept, with type ``unknown``); a ``sub_status``
code is looked up in ``delivery.sub_states`` for the bounce reason, as a status
record's is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from ..errors import WebhookPayloadError
from ..spec_model import Spec, WebhookEvent, WebhookEventFields, Webhooks
from ..spec_paths import PathError, parse_path, read_path
from ..vocabulary import BounceReason, EventType
from .timestamps import parse_timestamp

__all__ = ["Event", "build_event", "fields_for"]

_MAX_TEXT = 100_000  # digits of an int are capped by Python, too (sys.set_int_max_str_digits)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that happened to a sent message, as a provider's webhook reported it.

    ``type`` is the unified :class:`EventType` (``unknown`` for an event name the spec
    does not list); ``event`` is the provider's own name for it. ``timestamp`` is an
    aware UTC datetime (None if the event carries none). ``reason`` is the unified
    bounce reason where the provider gives a code the spec maps, ``description`` the
    provider's reason text. ``metadata`` holds the custom arguments sent with the
    message, where the provider echoes them. ``raw`` is the event as received.
    """

    provider: str
    type: EventType
    event: str
    message_id: str | None = None
    recipient: str | None = None
    timestamp: datetime | None = None
    reason: BounceReason | None = None
    description: str | None = None
    url: str | None = None
    user_agent: str | None = None
    metadata: dict[str, Any] = {}
    raw: dict[str, Any] = {}


def build_event(provider: str, spec: Spec, hooks: Webhooks, raw: dict[str, Any]) -> Event:
    """``raw`` as an Event; :class:`WebhookPayloadError` if a field has the wrong type."""
    reader = _Reader(provider, raw)
    name = reader.value(hooks.fields.event)
    if not isinstance(name, str):
        raise WebhookPayloadError(provider, f"an event has no {hooks.fields.event!r} field")
    row = hooks.events.get(name)
    fields = fields_for(hooks, row.fields if row else None)
    sub_status = reader.text(fields.sub_status)
    sub_row = (
        spec.delivery.sub_states.get(sub_status)
        if sub_status is not None and spec.delivery is not None
        else None
    )
    return Event(
        provider=provider,
        type=_event_type(row, reader),
        event=name,
        message_id=reader.text(fields.message_id),
        recipient=reader.text(fields.recipient),
        timestamp=reader.timestamp(fields.timestamp, hooks.timestamp_format),
        reason=BounceReason(sub_row.reason) if sub_row else None,
        description=reader.text(fields.reason) or (sub_row.description if sub_row else None),
        url=reader.text(fields.url),
        user_agent=reader.text(fields.user_agent),
        metadata=reader.mapping(fields.metadata),
        raw=raw,
    )


def _event_type(row: WebhookEvent | None, reader: _Reader) -> EventType:
    """The row's type, or the one its ``refine`` field's value names."""
    if row is None:
        return EventType.UNKNOWN
    refined = row.refine.types.get(_refine_key(reader, row.refine.path)) if row.refine else None
    return EventType(refined or row.type)


def _refine_key(reader: _Reader, path: str) -> str:
    """The refine field's value as a key of its ``types``: text or a number as text, a
    boolean as ``true``/``false`` (Mailjet's ``hard_bounce``)."""
    value = reader.value(path)
    if isinstance(value, bool):
        return "true" if value else "false"
    return reader.text(path) or ""


def fields_for(hooks: Webhooks, own: WebhookEventFields | None) -> WebhookEventFields:
    """The event's paths: its row's own where it gives them, else the table's."""
    common = hooks.fields
    if own is None:
        return common
    roles = WebhookEventFields.__struct_fields__
    return WebhookEventFields(
        **{r: getattr(own, r) if getattr(own, r) is not None else getattr(common, r) for r in roles}
    )


class _Reader:
    """Reads the fields of one event by path, refusing a value of the wrong type by name."""

    def __init__(self, provider: str, raw: dict[str, Any]) -> None:
        self.provider, self.raw = provider, raw

    def _bad(self, field: str, expected: str) -> WebhookPayloadError:
        return WebhookPayloadError(self.provider, f"field {field[:60]!r} is not {expected}")

    def value(self, field: str | None) -> Any:
        """The value at the path ``field``; None when absent (or no path)."""
        if field is None:
            return None
        try:
            return read_path(self.raw, parse_path(field))
        except PathError:
            raise self._bad(field, "a JSON object") from None

    def text(self, field: str | None) -> str | None:
        """A string, or a number written as one; None when absent, null or empty."""
        value = self.value(field)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            if len(value) > _MAX_TEXT:
                raise self._bad(field or "", "text of a sensible length")
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return str(value)
            except ValueError:  # an int too long to print
                raise self._bad(field or "", "a sensible number") from None
        raise self._bad(field or "", "text or a number")

    def timestamp(self, field: str | None, timestamp_format: str) -> datetime | None:
        value = self.value(field)
        if value is None or value == "":
            return None
        try:
            return parse_timestamp(value, timestamp_format)
        except ValueError:
            raise self._bad(field or "", f"a timestamp ({timestamp_format})") from None

    def mapping(self, field: str | None) -> dict[str, Any]:
        """An object; where it travels as JSON text (in a form, in a header) it is read
        as JSON."""
        value = self.value(field)
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            try:
                value = msgspec.json.decode(value)
            except (msgspec.DecodeError, RecursionError, ValueError):
                raise self._bad(field or "", "a JSON object") from None
        if not isinstance(value, dict):
            raise self._bad(field or "", "an object")
        return value
