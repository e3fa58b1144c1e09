"""Bounds on one HTTP request, shared by every transport (the sync one, and the async
one of :mod:`.async_http`, which differs only in its I/O): how long the whole request may take and how
large its answer may be. Nothing here does I/O; a transport asks these as it goes.

- **Time.** A socket timeout bounds one socket operation, so a server that trickles
  its answer a byte at a time resets it forever. A :class:`Budget` is a wall-clock
  bound on the whole request, connect to last byte: the provider's ``timeout`` (a
  plain number of seconds; for a ``urllib3.Timeout``, its ``total``), cut to the
  Mailer's deadline (:mod:`mailspec.deadline`). The transport gives each socket
  operation at most what the budget has left.
- **Size.** An answer is read into memory to be decoded, so a server that never stops
  (or announces a gigabyte) would exhaust the sender. :func:`answer_cap` is the most
  an answer may hold: ``max_answer_bytes`` when given, else 1 MiB for a request that
  changes something (a send is answered with a few ids) and 16 MiB for a GET (status
  pages list events, and reading one again is harmless).
"""

from __future__ import annotations

import time

from .. import deadline
from ..errors import MalformedResponseError, ValidationError

__all__ = [
    "MAX_READ_ANSWER",
    "MAX_SEND_ANSWER",
    "MIN_START",
    "AnswerBody",
    "Budget",
    "OutOfTime",
    "answer_cap",
    "max_answer_bytes",
    "may_have_acted",
    "too_large",
]

MAX_SEND_ANSWER = 1 << 20  # 1 MiB: a send's answer is an envelope and a few ids
MAX_READ_ANSWER = 16 << 20  # 16 MiB: a status page of events (100 are ~50 KB)
MIN_START = 1.0  # seconds: the least time left a request is started with (Budget.least_start)


class OutOfTime(TimeoutError):
    """The request's budget is spent. A TimeoutError, so that whatever reads the
    socket (http.client, urllib3) treats it as the read timeout it is."""


class Budget:
    """The wall-clock bound of one request: it ends at ``ends`` (a
    :func:`time.monotonic` time; None: unbounded), and ``bound`` names what set it, for
    the error message. ``deadline`` is the send's, where the request is part of one
    (None otherwise: a direct call, a ``status()``)."""

    __slots__ = ("_timeout_ends", "bound", "deadline", "ends", "total")

    def __init__(self, total: float | None) -> None:
        self.total = total
        self.deadline = deadline.current()
        self._timeout_ends = time.monotonic() + total if total is not None else None
        self._cut()

    def _cut(self) -> None:
        """``ends``: the request's own timeout, or the send's deadline when sooner."""
        self.ends = self._timeout_ends
        self.bound = f"its {self.total:g} s timeout" if self.total is not None else ""
        by = self.deadline
        if by is not None and (self.ends is None or by < self.ends):
            self.ends, self.bound = by, "the send deadline"

    def wait(self, per_op: float | None) -> float | None:
        """The timeout of the next socket operation: ``per_op`` (None: none), cut to
        what the budget has left. Raises :class:`OutOfTime` when nothing is left."""
        if self.ends is None:
            return per_op
        left = self.ends - time.monotonic()
        if left <= 0:
            raise OutOfTime(f"the request ran past {self.bound}")
        return left if per_op is None or left < per_op else per_op

    def spent(self) -> bool:
        return self.ends is not None and time.monotonic() >= self.ends

    def least_start(self) -> float:
        """The least time left a request is started with: :data:`MIN_START` seconds,
        or its whole timeout when that is shorter. One started with less would most
        likely be cut off mid-way, its outcome unknown (ambiguous)."""
        return MIN_START if self.total is None or self.total > MIN_START else self.total

    def turn_ends(self) -> tuple[float | None, str]:
        """When a wait for this request's turn (a free connection) must end, and what
        sets that, for an error message. In a send, :meth:`least_start` before the
        send's deadline, which bounds everything the send does; outside one (a
        ``status()``), the request's own timeout, as for any part of the request."""
        if self.deadline is not None:
            least = self.least_start()
            return self.deadline - least, f"{least:g} s before the send deadline"
        return self.ends, f"the end of {self.bound}"

    def waited(self, seconds: float) -> None:
        """Leave ``seconds`` spent waiting for a turn out of the request's own
        timeout, which bounds the request, not a queue before it. The send's deadline
        does not move; outside a send the wait counts, as :meth:`turn_ends` says."""
        if self.deadline is not None and self._timeout_ends is not None:
            self._timeout_ends += seconds
            self._cut()


class AnswerBody:
    """An answer's body as it is read, chunk by chunk, refusing to grow past ``cap``."""

    __slots__ = ("_parts", "cap", "size")

    def __init__(self, cap: int) -> None:
        self.cap, self.size = cap, 0
        self._parts: list[bytes] = []

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False (and nothing kept) when it would pass the cap."""
        self.size += len(chunk)
        if self.size > self.cap:
            self._parts.clear()  # the caller gives up on this answer: free it now
            return False
        self._parts.append(chunk)
        return True

    def value(self) -> bytes:
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)


def answer_cap(method: str, configured: int | None) -> int:
    """The most bytes an answer to a ``method`` request may have (decoded, if the server
    compressed it)."""
    if configured is not None:
        return configured
    return MAX_READ_ANSWER if method == "GET" else MAX_SEND_ANSWER


def max_answer_bytes(value: object, provider: str | None = None) -> int:
    """``value`` as an answer size cap: a whole number of bytes > 0, else
    ValidationError (checked when the provider is built, not at the first answer)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValidationError(
        f"expected a whole number of bytes > 0, got {value!r}",
        field="max_answer_bytes",
        provider=provider,
    )


def may_have_acted(method: str, status: int) -> bool:
    """Whether an answer we cannot read leaves it open that the provider did what was
    asked: it said success (2xx) to a request that changes something (not a GET)."""
    return 200 <= status < 300 and method != "GET"


def too_large(
    provider: str, method: str, status: int, cap: int, announced: int | None = None
) -> MalformedResponseError:
    """The error for an answer past ``cap``: unread, so the provider's verdict is
    unknown; ambiguous when its status said success to a send."""
    what = f"announces {announced:,} bytes" if announced is not None else "runs past"
    return MalformedResponseError(
        provider,
        f"the answer {what}, over the {cap:,}-byte cap (max_answer_bytes); "
        f"not read (HTTP {status})",
        http_status=status,
        ambiguous=may_have_acted(method, status),
    )
