"""The SendCloud API style: form-encoded, credentials in the body, the
``{result, statusCode, message, info}`` envelope, ``%name%`` substitution through the
``xsmtpapi`` parameter, and a status query by time window and page.

Serves AuroraSendCloud and SendCloud v2; what differs between them is in their specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from mailspec.errors import UnsupportedOperation, ValidationError
from mailspec.results import DeliveryStatus
from mailspec.runtime.numbers import int_or_none
from mailspec.spec_model import Delivery, MaxSpan, Operation

from .base import Provider, at_path, status_query

__all__ = ["MAX_PAGES", "MAX_STATUS_REQUESTS", "SendCloudStyle"]

MAX_PAGES = 1000  # per window: a bound, so a provider that never stops paging cannot hang us

# Every request one status() call may make (windows x id groups x pages), unless the
# caller passes another max_requests: a year of 3-day windows with a few pages each.
# A window reaching back decades would otherwise be thousands of requests (2000-01-01
# to today: over 3,000; 0001-01-01: about 250,000), each counted against the account's
# rate limit, before the caller saw a single status.
MAX_STATUS_REQUESTS = 500


class SendCloudStyle(Provider):
    """The SendCloud platform's status query: by time window and page. Sending is the
    generic runtime's (the ``xsmtpapi`` parameter is a declared ``substitution``)."""

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
        max_requests: int = MAX_STATUS_REQUESTS,
    ) -> list[DeliveryStatus]:
        """Statuses by message id and/or time window. A window longer than the provider
        allows is split into allowed spans, ids into groups the API takes, and every
        page of each is fetched.

        At most ``max_requests`` requests are made (default
        :data:`MAX_STATUS_REQUESTS`): a window and id list needing more spans x groups
        than that is refused with a ValidationError naming ``since``/``until`` before
        any request; answers with more pages than the rest of the budget raise a
        ValidationError naming ``max_requests`` when the budget runs out (status
        changes nothing, so nothing is lost: narrow the window or raise the bound).
        """
        op = self._require("status")
        _check_budget(self.name, max_requests)
        message_ids, since, until = status_query(self.name, message_ids, since, until)
        if message_ids == []:
            return []  # no ids asks for nothing, not for every message in the window
        if op.paging is None:  # the spec checks refuse this; a hand-built spec may not
            raise UnsupportedOperation(self.name, "status", "its spec declares no paging")
        delivery = self.spec.delivery
        assert delivery is not None  # a spec with a status operation has delivery tables (checked)
        ids_param = op.query.ids if op.query is not None else None
        id_chunk = (op.params[ids_param].max_items or 100) if ids_param is not None else 0
        id_groups: list[list[str] | None] = (
            [list(message_ids[i : i + id_chunk]) for i in range(0, len(message_ids), id_chunk)]
            if message_ids
            else [None]
        )
        windows = _windows(self.name, op, since, until, max_requests, len(id_groups))
        budget = _Budget(self.name, max_requests)
        records: list[Any] = []
        for window in windows:
            for ids in id_groups:
                query = {**window, ids_param: ids} if ids_param is not None else window
                records.extend(self._pages(op, delivery, query, budget))
        return self._statuses(delivery, records, recipient)

    def _pages(
        self, op: Operation, delivery: Delivery, query: dict[str, Any], budget: _Budget
    ) -> list[Any]:
        """Every record of one window and id group, page by page (at most MAX_PAGES),
        by the operation's declared offset paging."""
        assert op.paging is not None  # status() checked
        offset, limit = op.paging.offset, op.paging.limit
        page = self.spec.limits.page_size or 100
        records: list[Any] = []
        start = 0
        for _ in range(MAX_PAGES):
            budget.take()
            response = self.client.call("status", {**query, offset: start, limit: page})
            batch = at_path(response, delivery.records) or []
            records.extend(batch)
            start += len(batch)
            # "total": "2" as well as 2; anything else is no total (paging goes by page size)
            total = int_or_none(at_path(response, delivery.total)) if delivery.total else None
            if len(batch) < page or (total is not None and start >= total):
                break
        return records


def _check_budget(provider: str, max_requests: object) -> None:
    if not isinstance(max_requests, int) or isinstance(max_requests, bool) or max_requests < 1:
        raise ValidationError(
            f"expected a whole number of requests >= 1, got {max_requests!r}",
            field="max_requests",
            provider=provider,
        )


class _Budget:
    """The requests one status() call has left; taking one past the end is refused."""

    def __init__(self, provider: str, limit: int) -> None:
        self.provider, self.limit, self.used = provider, limit, 0

    def take(self) -> None:
        if self.used >= self.limit:
            raise ValidationError(
                f"the answers need more than {self.limit} requests (pages of records); "
                "narrow since/until or pass a larger max_requests",
                field="max_requests",
                provider=self.provider,
            )
        self.used += 1


def _windows(
    provider: str, op: Operation, since: date | None, until: date | None, limit: int, groups: int
) -> list[dict[str, Any]]:
    """The query values of each window the provider allows, covering since..until (by
    default, the span that ends at ``until`` or today). More windows x id ``groups``
    than ``limit`` requests is refused before any request, naming since/until and the
    limit. Never steps past the first or last date a ``date`` can hold, so extreme
    dates are windows too, not an OverflowError."""
    span = next((r for r in op.rules if isinstance(r, MaxSpan)), None)
    days = span.days if span else 1
    recent = op.query.recent if op.query is not None else None
    if since is None and until is None and recent is not None:
        _check_plan(provider, 1, groups, limit, f"the last {days} days")
        return [{recent: days}]
    if span is None:
        raise UnsupportedOperation(provider, "a status time window", f"{op.path} takes none")
    today = date.today()
    for name, day in (("since", since), ("until", until)):
        if day is not None and (day - today).days > 1:  # a day's slack: the provider's time zone
            raise ValidationError(
                f"{day.isoformat()} is in the future: nothing was sent then",
                field=name,
                provider=provider,
            )
    end = until if until is not None else today
    back = min(days - 1, (end - date.min).days)
    first = since if since is not None else end - timedelta(days=back)
    if first > end:
        return []  # since is tomorrow: nothing was sent then yet
    count = -(-((end - first).days + 1) // days)  # ceiling: windows of `days` days
    what = f"since {first.isoformat()} until {end.isoformat()} ({count} windows of {days} days)"
    _check_plan(provider, count, groups, limit, what)
    windows = []
    while True:
        last = end if (end - first).days < days else first + timedelta(days=days - 1)
        windows.append({span.start: first, span.end: last})
        if last == end:
            return windows
        first = last + timedelta(days=1)


def _check_plan(provider: str, windows: int, groups: int, limit: int, what: str) -> None:
    """Refuse, before any request, a query needing more than ``limit`` requests."""
    if windows * groups > limit:
        ids = f" x {groups} groups of message ids" if groups > 1 else ""
        raise ValidationError(
            f"{what}{ids} needs at least {windows * groups} requests, more than "
            f"max_requests ({limit}) for one status() call; ask for a shorter window"
            + (" or fewer message ids" if groups > 1 else ""),
            field="message_ids" if groups > limit else "since",
            provider=provider,
        )
