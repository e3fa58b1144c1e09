"""Many messages through one ``send``: a bounded number of threads, one outcome per
message in the order given, and one message's failure never stopping the others.

:meth:`mailspec.Mailer.send_many` is this around :meth:`~mailspec.Mailer.send`, so every
message gets what a single send gets (strategy, retries, breakers, the shared rate
limiter, the ledger and its idempotency key). The threads pull the next message from
one cursor rather than having every message queued up front, so a batch of a million
holds a million outcomes, not a million pending tasks, and stopping is a flag the
threads read before taking another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import cast

from ..checks.arguments import items
from ..errors import ValidationError
from ..message import Message
from ..results import SendResult

__all__ = ["Outcome", "Progress", "messages_of", "send_all", "workers"]

log = logging.getLogger("mailspec.mailer")

Outcome = SendResult | Exception
"""What one message of a batch came to: its result, or the exception its send raised."""

Progress = Callable[[int, int, Outcome], None]
"""``on_progress(done, total, outcome)``: called after each message."""


def messages_of(messages: object) -> list[Message]:
    """A batch as a list, taken once from any iterable; ValidationError for what is not
    one (a single Message, a string). Each item is checked by its own send: one that is
    not a Message is that message's ValidationError, not the batch's."""
    return items(messages, "messages", "Messages")


def workers(concurrency: object, total: int) -> int:
    """How many threads send ``total`` messages at ``concurrency``: a whole number, 1
    or more (else ValidationError), and never more than there are messages."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ValidationError(
            f"expected a whole number of messages in flight, 1 or more, got {concurrency!r}",
            field="concurrency",
        )
    return max(1, min(concurrency, total))


def send_all(
    send: Callable[[Message], SendResult],
    messages: Sequence[Message],
    threads: int,
    on_progress: Progress | None = None,
) -> list[Outcome]:
    """``send`` each message, ``threads`` at a time (1: one after another in the calling
    thread), returning each one's result or the Exception it raised, in input order.

    ``on_progress`` is called after each message, one call at a time (from the
    sending threads, so keep it quick), with ``done`` counting up to ``total``; an
    exception it raises is logged and ignored. A BaseException that is not an Exception (KeyboardInterrupt,
    SystemExit) is not an outcome: messages not started yet are not sent, the sends
    under way finish on their own threads (each within its deadline, recorded in the
    ledger as any send), and it is raised. One that cuts a send itself (in the calling
    thread, or a sending thread's own) leaves that message's key maybe sent once its
    request was written, as :meth:`~mailspec.Mailer.send` says."""
    total = len(messages)
    outcomes: list[Outcome | None] = [None] * total
    tally = _Tally(total, on_progress)
    if threads <= 1:
        for index, message in enumerate(messages):
            outcomes[index] = tally.done(_outcome(send, message))
        return _all(outcomes)
    cursor = _Cursor(total)

    def work() -> None:
        try:
            while (index := cursor.take()) is not None:
                outcomes[index] = tally.done(_outcome(send, messages[index]))
        except BaseException:
            cursor.stop()  # the others take nothing more either
            raise

    pool = ThreadPoolExecutor(threads, thread_name_prefix="mailspec-send")
    try:
        running: list[Future[None]] = [pool.submit(work) for _ in range(threads)]
        wait(running)
        for future in running:
            future.result()  # a BaseException of a sending thread, raised here
    except BaseException:
        cursor.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return _all(outcomes)


def _outcome(send: Callable[[Message], SendResult], message: Message) -> Outcome:
    try:
        return send(message)
    except Exception as exc:  # this message's outcome, not the batch's
        return exc


def _all(outcomes: list[Outcome | None]) -> list[Outcome]:
    # every slot is filled: the cursor handed out every index, and nothing but a
    # BaseException (raised before this) ends a thread between taking one and filling it
    return cast("list[Outcome]", outcomes)


class _Cursor:
    """The next message to send, handed out once each, until stopped."""

    def __init__(self, total: int) -> None:
        self._next, self._total = 0, total
        self._lock = threading.Lock()
        self._stopped = False

    def take(self) -> int | None:
        with self._lock:
            if self._stopped or self._next >= self._total:
                return None
            index, self._next = self._next, self._next + 1
            return index

    def stop(self) -> None:
        with self._lock:
            self._stopped = True


class _Tally:
    """Counts finished messages and tells ``on_progress``, one call at a time."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self._done, self._total, self._on_progress = 0, total, on_progress
        self._lock = threading.Lock()

    def done(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self._done += 1
            if self._on_progress is not None:
                try:
                    self._on_progress(self._done, self._total, outcome)
                except Exception:
                    log.exception("the on_progress callback failed (ignored)")
        return outcome
