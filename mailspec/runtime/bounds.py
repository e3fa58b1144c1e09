"""Bounds on one HTTP request, shared by every transport (this sync one, and an async
one later, which differs only in its I/O): how long the whole request may take.
Nothing here does I/O; a transport asks these as it goes.

- **Time.** A socket timeout bounds one socket operation, so a server that trickles
  its answer a byte at a time resets it forever. A :class:`Budget` is a wall-clock
  bound on the whole request, connect to last byte: the provider's ``timeout`` (a
  plain number of seconds; for a ``urllib3.Timeout``, its ``total``), cut to the
  Mailer's deadline (:mod:`mailspec.deadline`). The transport gives each socket
  operation at most what the budget has left.
"""

from __future__ import annotations

import time

from .. import deadline

__all__ = ["Budget", "OutOfTime"]


class OutOfTime(TimeoutError):
    """The request's budget is spent. A TimeoutError, so that whatever reads the
    socket (http.client, urllib3) treats it as the read timeout it is."""


class Budget:
    """The wall-clock bound of one request: it ends at ``ends`` (a
    :func:`time.monotonic` time; None: unbounded), and ``bound`` names what set it, for
    the error message."""

    __slots__ = ("bound", "ends")

    def __init__(self, total: float | None) -> None:
        now = time.monotonic()
        self.ends = now + total if total is not None else None
        self.bound = f"its {total:g} s timeout" if total is not None else ""
        by = deadline.current()
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
