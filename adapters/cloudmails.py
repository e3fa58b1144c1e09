"""The CloudMails API style: JSON bodies, an ``Authorization: Bearer`` key, HTTP status
codes, one recipient per message, batches, and a status lookup by message id.

Decisions (CloudMails SMTP API Documentation leaves them open):

- ``to`` is one address. A message to one address goes to ``POST /send``; a message to
  several becomes one message per address in a single ``POST /send/batch`` call, so it
  is accepted or refused as a whole, and ``SendResult.message_ids`` holds one id per
  address, in ``to`` order. Each recipient sees only their own address. ``cc``/``bcc``
  on a message to several addresses are refused (``UnsupportedOperation``): every copy
  would go to them again.
- Variables: its Batch Send Endpoint shows ``{{name}}`` placeholders but no field for their values, so
  the adapter substitutes them itself: ``variables`` for everyone, overridden by the
  recipient's ``recipient_variables``, into the subject, html and text of that
  recipient's copy. Values are inserted as given (not HTML-escaped), as SendCloud's
  ``%name%`` substitution does; a value that would put a line break into the subject is
  refused. Placeholders with no value are left as they are.
- Display names: ``to``, ``cc``, ``bcc`` and ``reply_to`` are written as mailboxes
  (``Ann Smith <ann@example.org>``) where the message has a name for the address, as
  ``from`` is (ASSUMED in the spec: the document is silent on names).
- ``tags`` and ``metadata`` travel in ``custom_args``: the metadata's keys, plus
  ``"tags": [...]`` (so metadata may not itself use the key ``tags``).
- ``send_many`` sends every message's copies through ``POST /send/batch`` in chunks of
  the spec's batch limit (1000), one ``SendResult`` per message in order. Every message
  is checked before the first request; if a later chunk fails, the earlier chunks were
  already accepted and the error is raised.
- ``status(message_ids)`` asks ``GET /emails/{id}`` once per id. CloudMails cannot list
  emails, so a status query without ids, or by recipient (the answer names none), is an
  ``UnsupportedOperation``; ``since``/``until`` filter the answers client-side by their
  time (``delivered_at``, else ``created_at``): a date ``since`` counts from its start
  and a date ``until`` through its end, in UTC, and a naive datetime is taken as UTC.
  States follow the spec's delivery table: ``sent`` is ``sending``, ``deferred`` is
  ``soft_bounced``, and opens/clicks above zero report a sent or delivered message as
  ``opened``/``clicked``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from mailspec.errors import MalformedResponseError, UnsupportedOperation, ValidationError
from mailspec.message import Message
from mailspec.results import Attempt, DeliveryStatus, SendResult
from mailspec.runtime.client import Call
from mailspec.runtime.encoding import json_object

from .base import (
    Provider,
    Step,
    _timestamp,
    at_path,
    id_list,
    send_steps,
    status_query,
)

__all__ = ["CloudMailsStyle"]

_LINE_BREAK = re.compile(r"[\r\n\x00]")


class CloudMailsStyle(Provider):
    # --- sending ---------------------------------------------------------------------

    def deliver(self, message: Message) -> SendResult:
        entries = self._entries(message)
        if len(entries) > 1:
            return self._send_batches([entries], [message.to])[0]
        started = time.perf_counter()
        step = self._step(list(message.to), entries[0])
        return self._accepted(send_steps(self.name, [step]), started)

    def send_many(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order, through ``POST /send/batch``."""
        for message in messages:
            self.check(message)
        per_message = [self._entries(message) for message in messages]
        return self._send_batches(per_message, [message.to for message in messages])

    def _calls(self, message: Message) -> list[tuple[list[str], Call]]:
        """The ``/send`` calls of ``message``, one per ``to`` address (``deliver`` sends
        several of them as one batch)."""
        return [([to], call) for to, call in zip(message.to, self._entries(message), strict=True)]

    def _entries(self, message: Message) -> list[Call]:
        """``/send`` calls, one per ``to`` address, each prepared (no I/O)."""
        if len(message.to) > 1:
            for field in ("cc", "bcc"):
                if getattr(message, field):
                    raise UnsupportedOperation(
                        self.name,
                        f"the message field {field!r} with several `to` addresses",
                        "each `to` address gets its own copy, and every copy would go to "
                        f"the {field} addresses again; send one message per recipient",
                    )
        custom_args = self._custom_args(message)
        transform = {"tags": custom_args, "metadata": custom_args}
        syntax = self.spec.capabilities.variable_syntax or "{{{{{name}}}}}"
        entries = []
        for to in message.to:
            values = {**message.variables, **message.recipient_variables.get(to, {})}
            subject = _fill(message.subject, values, syntax)
            if subject is not None and _LINE_BREAK.search(subject):
                raise ValidationError(
                    "a value would put a line break into the subject (header injection)",
                    field="recipient_variables"
                    if to in message.recipient_variables
                    else "variables",
                    provider=self.name,
                )
            copy = msgspec.structs.replace(
                message,
                to=[to],
                subject=subject,
                html=_fill(message.html, values, syntax),
                text=_fill(message.text, values, syntax),
                variables={},
                recipient_variables={},
            )
            entries.append(self._prepare("send", self._mapped("send", copy, transform), message))
        return entries

    def _custom_args(self, message: Message) -> dict[str, Any]:
        args: dict[str, Any] = dict(message.metadata)
        if message.tags:
            if "tags" in args:
                raise ValidationError(
                    "metadata may not use the key 'tags' when the message has tags "
                    "(both travel in custom_args)",
                    field="metadata",
                    provider=self.name,
                )
            args["tags"] = list(message.tags)
        return args

    def _send_batches(
        self, per_message: list[list[Call]], recipients: list[list[str]]
    ) -> list[SendResult]:
        """Every entry through ``/send/batch``, in chunks the API allows; the ids come
        back in order. ``recipients`` are each message's ``to`` addresses, one per
        entry (an entry's ``to`` may be a mailbox, with a name). A chunk failing after
        an earlier one went out raises PartialDeliveryError (see :func:`send_steps`)."""
        op = self._require("send_batch")
        send = self.spec.operations["send"]
        size = op.params["messages"].max_items or self.spec.limits.batch_size or 1000
        flat = [
            (i, e, to)
            for i, entries in enumerate(per_message)
            for e, to in zip(entries, recipients[i], strict=True)
        ]
        ids: list[list[str]] = [[] for _ in per_message]
        durations = [0.0] * len(per_message)

        def sender(chunk: list[tuple[int, Call, str]]) -> Callable[[], list[str]]:
            def send_chunk() -> list[str]:
                started = time.perf_counter()
                objects = [{**json_object(send, e.values), **e.extra} for _, e, _ in chunk]
                response = self.client.call("send_batch", {"messages": objects})
                elapsed = time.perf_counter() - started
                got = id_list(at_path(response, op.ids) if op.ids else None)
                if len(got) != len(chunk):
                    raise MalformedResponseError(
                        self.name,
                        f"sent a batch of {len(chunk)} messages, got {len(got)} message ids back",
                        http_status=None,
                        ambiguous=True,
                    )
                for (owner, _, _), message_id in zip(chunk, got, strict=True):
                    ids[owner].append(message_id)
                for owner in {owner for owner, _, _ in chunk}:
                    durations[owner] += elapsed
                return got

            return send_chunk

        chunks = [flat[start : start + size] for start in range(0, len(flat), size)]
        send_steps(
            self.name,
            [Step([to for _, _, to in chunk], sender(chunk)) for chunk in chunks],
        )
        return [
            SendResult(
                provider=self.name,
                message_ids=message_ids,
                attempts=[Attempt(self.name, "accepted", duration)],
            )
            for message_ids, duration in zip(ids, durations, strict=True)
        ]

    # --- status ----------------------------------------------------------------------

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]:
        self._require("status")
        message_ids, _, _ = status_query(self.name, message_ids, since, until)  # checks them
        if message_ids == []:
            return []
        delivery = self.spec.delivery
        assert delivery is not None  # a spec with a status operation has delivery tables (checked)
        if recipient is not None:
            raise UnsupportedOperation(
                self.name, "status by recipient", "a status answer names no recipient"
            )
        if not message_ids:
            raise UnsupportedOperation(
                self.name,
                "status without message_ids",
                "emails can only be looked up by id (GET /emails/{message_id})",
            )
        first, last = _bound(since, end=False), _bound(until, end=True)
        records: list[Any] = []
        for message_id in message_ids:
            found = at_path(
                self.client.call("status", {"message_id": message_id}), delivery.records
            )
            records.extend(found if isinstance(found, list) else [found] if found else [])
        statuses = [
            _with_time(s, r)
            for s, r in zip(self._statuses(delivery, records, None), records, strict=True)
        ]
        return [s for s in statuses if _within(s.timestamp, first, last)]


def _with_time(status: DeliveryStatus, record: Any) -> DeliveryStatus:
    """``delivered_at`` where there is one, else when the email was accepted."""
    if status.timestamp is not None:
        return status
    created = _timestamp(getattr(record, "created_at", None), "")  # ISO 8601
    return status if created is None else msgspec.structs.replace(status, timestamp=created)


def _fill(text: str | None, values: dict[str, str], syntax: str) -> str | None:
    """Substitute every placeholder in one pass: a value is never searched again, so a
    value that itself reads ``{{other}}`` stays as written."""
    if not text or not values:
        return text
    prefix, _, suffix = syntax.format(name="\0").partition("\0")
    names = "|".join(re.escape(n) for n in sorted(values, key=len, reverse=True))
    pattern = re.compile(f"{re.escape(prefix)}({names}){re.escape(suffix)}")
    return pattern.sub(lambda m: values[m.group(1)], text)


def _bound(value: date | None, *, end: bool) -> datetime | None:
    """A window bound as an aware time: a datetime as given (naive ones are taken as
    UTC, to compare with the provider's ISO 8601 times); a date from its start (``since``)
    or through its end (``until``), in UTC, as a SendCloud-style status query reads one."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, datetime.max.time() if end else datetime.min.time(), UTC)


def _within(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Client-side time filter on aware bounds; an answer without a time is kept (it
    cannot be placed)."""
    if when is None:
        return True
    if when.tzinfo is None:  # an ISO 8601 time without an offset: UTC, as above
        when = when.replace(tzinfo=UTC)
    if since is not None and when < since:
        return False
    return not (until is not None and when > until)
