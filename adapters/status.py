"""The status query, as a spec declares it: which parameter selects ids (in groups, or
one path request per id), the time window (split into the spans a ``max_span`` rule
allows, asked as the last N days by ``recent``, or kept client-side by
``client_window``), and offset, cursor or next-URL paging; every request counted against a
budget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mailspec.errors import UnsupportedOperation, ValidationError
from mailspec.results import DeliveryStatus
from mailspec.runtime.numbers import int_or_none
from mailspec.spec_model import MaxSpan, Operation, Paging, Spec, StatusQuery

__all__ = ["MAX_PAGES", "MAX_STATUS_REQUESTS", "Budget", "check_budget", "id_groups", "windows"]

MAX_PAGES = 1000  # per window: a bound, so a provider that never stops paging cannot hang us

# Every request one status() call may make (windows x id groups x pages), unless the
# caller passes another max_requests: a year of 3-day windows with a few pages each.
# A window reaching back decades would otherwise be thousands of requests (2000-01-01
# to today: over 3,000; 0001-01-01: about 250,000), each counted against the account's
# rate limit, before the caller saw a single status.
MAX_STATUS_REQUESTS = 500

_NO_QUERY = StatusQuery()


def query_of(op: Operation) -> StatusQuery:
    return op.query if op.query is not None else _NO_QUERY


def check_budget(provider: str, max_requests: object) -> None:
    if not isinstance(max_requests, int) or isinstance(max_requests, bool) or max_requests < 1:
        raise ValidationError(
            f"expected a whole number of requests >= 1, got {max_requests!r}",
            field="max_requests",
            provider=provider,
        )


class Budget:
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


def id_groups(provider: str, op: Operation, message_ids: list[str] | None) -> list[Any]:
    """The id values of each request: one id per request for a path parameter, groups
    of the list parameter's ``max_items`` (default 100), one id per request for any other
    ``str`` parameter (Mailgun's ``message-id`` filter), or ``[None]`` (no id filter)."""
    name = query_of(op).ids
    if name is None:
        return [None]
    if op.params[name].type == "str" and op.params[name].location != "path":
        return list(message_ids) if message_ids else [None]
    if op.params[name].location == "path":
        if not message_ids:
            raise UnsupportedOperation(
                provider,
                "status without message_ids",
                f"records can only be looked up by id ({op.method} {op.path})",
            )
        return list(message_ids)
    if not message_ids:
        return [None]
    size = op.params[name].max_items or 100
    return [message_ids[i : i + size] for i in range(0, len(message_ids), size)]


def windows(
    provider: str, op: Operation, since: date | None, until: date | None, limit: int, groups: int
) -> list[dict[str, Any]]:
    """The query values of each window the provider allows, covering since..until (by
    default, the span that ends at ``until`` or today). More windows x id ``groups``
    than ``limit`` requests is refused before any request, naming since/until and the
    limit. Never steps past the first or last date a ``date`` can hold, so extreme
    dates are windows too, not an OverflowError. An operation taking no window
    (``client_window``, or neither a ``max_span`` rule nor ``recent`` and no window
    asked) is asked once per id group."""
    span = next((r for r in op.rules if isinstance(r, MaxSpan)), None)
    days = span.days if span else 1
    query = query_of(op)
    if query.client_window or (
        span is None and query.recent is None and since is None and until is None
    ):
        _check_plan(provider, 1, groups, limit, "one request per id")
        return [{}]
    if since is None and until is None and query.recent is not None:
        _check_plan(provider, 1, groups, limit, f"the last {days} days")
        return [{query.recent: days}]
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
    spans = []
    while True:
        last = end if (end - first).days < days else first + timedelta(days=days - 1)
        spans.append({span.start: first, span.end: last})
        if last == end:
            return spans
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


def pages(
    spec: Spec,
    op: Operation,
    call: Callable[..., Any],
    at_path: Callable[[Any, str], Any],
    query: dict[str, Any],
    budget: Budget,
) -> list[Any]:
    """Every record of one window and id group: one answer, or page by page (at most
    MAX_PAGES) by the operation's declared offset, cursor or next-URL paging."""
    delivery = spec.delivery
    assert delivery is not None  # a spec with a status operation has delivery tables (checked)
    if op.paging is None:
        budget.take()
        found = at_path(call(query), delivery.records)
        return found if isinstance(found, list) else [found] if found else []
    size = spec.limits.page_size or 100
    if op.paging.next_url is not None:
        return _next_url_pages(spec, op.paging, call, at_path, query, budget)
    if op.paging.cursor is not None and op.paging.next is not None:
        return _cursor_pages(spec, op.paging, call, at_path, query, budget)
    offset, limit = op.paging.offset, op.paging.limit
    assert offset is not None and limit is not None  # offset paging (checked)
    records: list[Any] = []
    start = 0
    for _ in range(MAX_PAGES):
        budget.take()
        response = call({**query, offset: start, limit: size})
        batch = at_path(response, delivery.records) or []
        records.extend(batch)
        start += len(batch)
        # "total": "2" as well as 2; anything else is no total (paging goes by page size)
        total = int_or_none(at_path(response, delivery.total)) if delivery.total else None
        if len(batch) < size or (total is not None and start >= total):
            break
    return records


def _cursor_pages(
    spec: Spec,
    paging: Paging,
    call: Callable[[dict[str, Any]], Any],
    at_path: Callable[[Any, str], Any],
    query: dict[str, Any],
    budget: Budget,
) -> list[Any]:
    """Every record of one window and id group by cursor paging: the first page
    without a cursor, then each answer's ``next`` cursor until one has none (at most
    MAX_PAGES; a cursor seen before ends it too, so a provider repeating itself cannot
    loop)."""
    delivery = spec.delivery
    assert delivery is not None and paging.cursor is not None and paging.next is not None
    limit = paging.limit
    first = {**query, limit: spec.limits.page_size or 100} if limit is not None else query
    records: list[Any] = []
    seen: set[str] = set()
    values = first
    for _ in range(MAX_PAGES):
        budget.take()
        response = call(values)
        records.extend(at_path(response, delivery.records) or [])
        token = at_path(response, paging.next)
        if token in (None, "") or str(token) in seen:
            break
        seen.add(str(token))
        values = {**first, paging.cursor: token}
    return records


def _next_url_pages(
    spec: Spec,
    paging: Paging,
    call: Callable[..., Any],
    at_path: Callable[[Any, str], Any],
    query: dict[str, Any],
    budget: Budget,
) -> list[Any]:
    """Every record of one window and id group by next-URL paging: the first page
    from the query, then the URL each answer gives at ``next_url`` until one has none
    or repeats one (at most MAX_PAGES; the client refuses a URL on another host)."""
    delivery = spec.delivery
    assert delivery is not None and paging.next_url is not None
    limit = paging.limit
    first = {**query, limit: spec.limits.page_size or 100} if limit is not None else query
    records: list[Any] = []
    seen: set[str] = set()
    url: str | None = None
    for _ in range(MAX_PAGES):
        budget.take()
        response = call(first, url)
        records.extend(at_path(response, delivery.records) or [])
        found = at_path(response, paging.next_url)
        if not isinstance(found, str) or not found or found in seen:
            break
        seen.add(found)
        url = found
    return records


def within(
    statuses: list[DeliveryStatus], since: date | None, until: date | None
) -> list[DeliveryStatus]:
    """The statuses whose time is inside since..until (client-side); one without a
    time is kept (it cannot be placed)."""
    first, last = _bound(since, end=False), _bound(until, end=True)
    return [s for s in statuses if _within(s.timestamp, first, last)]


def _bound(value: date | None, *, end: bool) -> datetime | None:
    """A window bound as an aware time: a datetime as given (naive ones are taken as
    UTC, to compare with the provider's ISO 8601 times); a date from its start (``since``)
    or through its end (``until``), in UTC, as a windowed status query reads one."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, datetime.max.time() if end else datetime.min.time(), UTC)


def _within(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if when is None:
        return True
    if when.tzinfo is None:  # an ISO 8601 time without an offset: UTC, as above
        when = when.replace(tzinfo=UTC)
    if since is not None and when < since:
        return False
    return not (until is not None and when > until)
