"""``mailspec send --file messages.jsonl``: one JSON message a line, sent by
:meth:`mailspec.Mailer.send_many`, with progress on stderr and one outcome per line.

A line that is not a message (bad JSON, nesting too deep, an unknown field, a bad
value, whatever it holds) is reported with its number and skipped: the others are still
sent. Empty lines are ignored. The exit
status is 0 when every line was sent, 1 otherwise.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import AllProvidersFailed, MailspecError, ValidationError
from ..message import Message
from ..results import Attempt, SendResult

__all__ = ["BULK_SUFFIXES", "Progress", "attempts_json", "read_messages", "send_file"]

BULK_SUFFIXES = (".jsonl", ".ndjson")  # a --file with one of these holds many messages

Outcome = SendResult | Exception


@dataclass(frozen=True)
class Line:
    """One non-empty line of the file: its message, or why it is none."""

    number: int
    message: Message | None
    problem: str | None = None


def read_messages(path: Path, parse: Callable[[dict[str, Any]], Message]) -> list[Line]:
    """Every non-empty line of ``path``, parsed by ``parse`` (a JSON object to a Message,
    raising ValidationError). ValidationError when the file cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}", field="file") from None
    return [
        _read_line(number, raw, parse)
        for number, raw in enumerate(data.split(b"\n"), start=1)
        if raw.strip()
    ]


def _read_line(number: int, raw: bytes, parse: Callable[[dict[str, Any]], Message]) -> Line:
    """One line as a message, or why it is none. Whatever the line holds (nesting deep
    enough to exhaust the parser's stack, a number of 10,000 digits, bytes that are not
    UTF-8, a value of the wrong type), it is this line's problem, never the batch's: the
    other lines are still sent."""
    try:
        fields = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is one, and a number too long to read
        return Line(number, None, f"not JSON: {_printable(str(exc))}")
    except RecursionError:
        return Line(number, None, "not JSON that can be read: nested too deeply")
    if not isinstance(fields, dict):
        return Line(number, None, f"expected one JSON object, got {_kind(fields)}")
    try:
        return Line(number, parse(fields))
    except ValidationError as exc:
        field = f"{exc.field}: " if exc.field in ("file", "message") else ""
        return Line(number, None, _printable(str(exc).removeprefix(field)))
    except RecursionError:  # a value nested too deeply to convert
        return Line(number, None, "a value is nested too deeply")
    except Exception as exc:  # a bug of ours: this line's, reported, never the batch's
        what = f"unexpected {type(exc).__name__} (a bug in mailspec: please report it)"
        return Line(number, None, what)


def _printable(text: str) -> str:
    """``text`` with what a terminal would act on or cannot show (control characters,
    lone surrogates from ``\\ud800``) escaped: a problem may quote the line's own keys."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def send_file(
    send_many: Callable[..., list[Outcome]],
    path: Path,
    parse: Callable[[dict[str, Any]], Message],
    *,
    concurrency: int,
    as_json: bool,
    stdout: TextIO,
    stderr: TextIO,
    hide: Callable[[str], str] = str,
) -> int:
    """Send every message of ``path`` through ``send_many`` (a Mailer's) and report:
    bad lines and failures on stderr, progress there too, then the outcomes (``as_json``:
    one JSON object per line, in the file's order) or a summary on stdout. ``hide``
    takes credentials out of the text of an exception that is not mailspec's (whose
    texts are redacted already)."""
    lines = read_messages(path, parse)
    if not lines:
        raise ValidationError(f"{path} holds no messages (one JSON object a line)", field="file")
    for line in lines:
        if line.problem is not None:
            print(f"{path}:{line.number}: skipped: {line.problem}", file=stderr)
    good = [line for line in lines if line.message is not None]
    progress = Progress(stderr, len(good))
    try:
        outcomes = send_many(
            [line.message for line in good], concurrency=concurrency, on_progress=progress
        )
    except KeyboardInterrupt:
        progress.finish()
        print(f"interrupted after {progress.done} of {len(good)} messages", file=stderr)
        raise
    progress.finish()
    by_line = dict(zip((line.number for line in good), outcomes, strict=True))
    if as_json:
        for line in lines:
            print(json.dumps(outcome_json(line, by_line.get(line.number), hide)), file=stdout)
    else:
        for line in good:
            outcome = by_line[line.number]
            if isinstance(outcome, Exception):
                print(f"{path}:{line.number}: failed: {_error(outcome, hide)}", file=stderr)
    skipped = len(lines) - len(good)
    print(summary(outcomes, skipped), file=stderr if as_json else stdout)
    failed = skipped or any(not isinstance(o, SendResult) for o in outcomes)
    return 1 if failed else 0


def outcome_json(
    line: Line, outcome: Outcome | None, hide: Callable[[str], str] = str
) -> dict[str, Any]:
    """One line's outcome as JSON: sent with its provider and ids, failed with the
    error, or skipped (not a message)."""
    if outcome is None:
        return {
            "line": line.number,
            "sent": False,
            "skipped": True,
            "error": "ValidationError",
            "message": line.problem,
        }
    if isinstance(outcome, SendResult):
        return {
            "line": line.number,
            "sent": True,
            "provider": outcome.provider,
            "message_ids": outcome.message_ids,
            "idempotency_key": outcome.idempotency_key,
            "replayed": outcome.replayed,
            "attempts": attempts_json(outcome.attempts),
        }
    failure: dict[str, Any] = {
        "line": line.number,
        "sent": False,
        "error": type(outcome).__name__,
        "message": str(outcome) if isinstance(outcome, MailspecError) else hide(str(outcome)),
        "ambiguous": bool(getattr(outcome, "ambiguous", False)),
    }
    if isinstance(outcome, AllProvidersFailed):
        failure["idempotency_key"] = outcome.idempotency_key
        failure["attempts"] = attempts_json(outcome.attempts)
    return failure


def summary(outcomes: Sequence[Outcome], skipped: int) -> str:
    """``sent 98 of 100, 2 failed; by provider: cloudmails 60, aurorasendcloud 38``."""
    sent = [o for o in outcomes if isinstance(o, SendResult)]
    total = len(outcomes) + skipped
    text = f"sent {len(sent)} of {total}, {len(outcomes) - len(sent)} failed"
    if skipped:
        text += f", {skipped} skipped (not a message)"
    providers = Counter(r.provider for r in sent)
    if providers:
        text += "; by provider: " + ", ".join(f"{p} {n}" for p, n in providers.most_common())
    return text


def attempts_json(attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    return [
        {
            "provider": a.provider,
            "outcome": a.outcome,
            "duration": round(a.duration, 4),
            "error": str(a.error) if a.error else None,
        }
        for a in attempts
    ]


class Progress:
    """``on_progress`` for a terminal or a log: on a terminal one line rewritten in
    place (at most ten times a second), otherwise a line at every tenth of the way and
    at least every ``every`` seconds, so a log of a long run shows it is alive."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.total, self.every, self._clock = stream, total, every, clock
        self.done = self.failed = 0
        self._terminal = stream.isatty()
        self._shown_at = clock()
        self._shown_tenth = 0
        self._drawn = False

    def __call__(self, done: int, total: int, outcome: Outcome) -> None:
        self.done = done
        if not isinstance(outcome, SendResult):
            self.failed += 1
        now = self._clock()
        if self._terminal:
            if now - self._shown_at >= 0.1 or done == total:
                self._show(now, end="")
            return
        tenth = done * 10 // max(total, 1)
        if tenth > self._shown_tenth or now - self._shown_at >= self.every:
            self._shown_tenth = tenth
            self._show(now, end="\n")

    def finish(self) -> None:
        """End the terminal's line, so what follows starts on a line of its own."""
        if self._drawn and self._terminal:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, now: float, end: str) -> None:
        self._shown_at = now
        self._drawn = True
        percent = 100 * self.done // max(self.total, 1)
        text = f"{self.done}/{self.total} ({percent}%) done, {self.failed} failed"
        self.stream.write(("\r" + text + "\x1b[K" if self._terminal else text) + end)
        self.stream.flush()


def _error(error: Exception, hide: Callable[[str], str]) -> str:
    if isinstance(error, MailspecError):
        return f"{type(error).__name__}: {error}"
    return f"unexpected {type(error).__name__}: {hide(str(error))} (a bug in mailspec)"


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )
