"""The SendCloud API style: form-encoded, credentials in the body, the
``{result, statusCode, message, info}`` envelope, ``%name%`` substitution through the
``xsmtpapi`` parameter, and a status query by time window and page.

Serves AuroraSendCloud and SendCloud v2; what differs between them is in their specs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from mailspec.errors import UnsupportedOperation
from mailspec.message import Message
from mailspec.results import DeliveryStatus
from mailspec.runtime.xsmtpapi import xsmtpapi
from mailspec.spec_model import MaxSpan, Operation

from .base import Provider, at_path, status_query

__all__ = ["SendCloudStyle"]

MAX_PAGES = 1000  # per window: a bound, so a provider that never stops paging cannot hang us


class SendCloudStyle(Provider):
    def _values(self, message: Message) -> tuple[str, dict[str, Any]]:
        operation = "send_template" if message.template else "send"
        self._require(operation)
        transform: dict[str, Any] = {}
        mapping = self.spec.mapping.get(operation, {})
        # a spec may put the recipients in xsmtpapi's "to" too (SendCloud v2's sendtemplate)
        xsmtpapi_param = mapping.get("variables")
        in_xsmtpapi = xsmtpapi_param is not None and mapping.get("to") == xsmtpapi_param
        if message.variables or message.recipient_variables or in_xsmtpapi:
            # {"to": [...], "sub": {"%name%": [one value per recipient]}}, built where the
            # SMTP transport builds its X-SMTPAPI header too
            substitution = xsmtpapi(message, self.spec.capabilities.variable_syntax)
            transform["variables"] = transform["recipient_variables"] = substitution
            if in_xsmtpapi:
                transform["to"] = substitution
        return operation, self._mapped(operation, message, transform)

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]:
        """Statuses by message id and/or time window. A window longer than the provider
        allows is split into allowed spans; every page of each is fetched."""
        op = self._require("status")
        message_ids, since, until = status_query(self.name, message_ids, since, until)
        if message_ids == []:
            return []  # no ids asks for nothing, not for every message in the window
        delivery = self.spec.delivery
        assert delivery is not None  # a spec with a status operation has delivery tables (checked)
        page = self.spec.limits.page_size or 100
        id_chunk = op.params["email_ids"].max_items or 100 if "email_ids" in op.params else 0
        id_groups: list[list[str] | None] = (
            [list(message_ids[i : i + id_chunk]) for i in range(0, len(message_ids), id_chunk)]
            if message_ids
            else [None]
        )
        records: list[Any] = []
        for window in _windows(self.name, op, since, until):
            for ids in id_groups:
                start = 0
                for _ in range(MAX_PAGES):
                    values = {**window, "start": start, "limit": page, "email_ids": ids}
                    response = self.client.call("status", values)
                    batch = at_path(response, delivery.records) or []
                    records.extend(batch)
                    start += len(batch)
                    total = at_path(response, delivery.total) if delivery.total else None
                    if len(batch) < page or (total is not None and start >= total):
                        break
        return self._statuses(delivery, records, recipient)


def _windows(
    provider: str, op: Operation, since: date | None, until: date | None
) -> Iterator[dict[str, Any]]:
    span = next((r for r in op.rules if isinstance(r, MaxSpan)), None)
    days = span.days if span else 1
    if since is None and until is None and "days" in op.params:
        yield {"days": days}
        return
    if span is None:
        raise UnsupportedOperation(provider, "a status time window", f"{op.path} takes none")
    end = until if until is not None else date.today()
    first = since if since is not None else end - timedelta(days=days - 1)
    while first <= end:
        last = min(first + timedelta(days=days - 1), end)
        yield {span.start: first, span.end: last}
        first = last + timedelta(days=1)
