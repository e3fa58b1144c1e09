"""Webhook timestamps as the spec's ``timestamp_format`` writes them -> aware UTC datetimes.

``epoch`` is a number of seconds, or of milliseconds when above 10^11 (a seconds value
that large is the year 5138), sent as a number or as digits. ``iso8601`` is what
``datetime.fromisoformat`` reads, ``Z`` included; a time without an offset is taken as
UTC, which is what providers that omit it mean.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from ..errors import ValidationError

__all__ = ["MILLISECONDS_ABOVE", "epoch_seconds", "parse_timestamp", "to_epoch"]

MILLISECONDS_ABOVE = 10**11
_EPOCH_TEXT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,9})?")
_EPOCH_LIMIT = 10**16  # far past any real timestamp, in seconds or milliseconds
_ISO_MAX_LENGTH = 64


def epoch_seconds(value: Any) -> float:
    """``value`` (an int, a float or digits) as seconds since the epoch; ValueError if it
    is none of those or out of range."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, str):
        if not _EPOCH_TEXT.fullmatch(value):
            raise ValueError("not an epoch timestamp")
        number = float(value)
    elif isinstance(value, int | float):
        number = float(value) if -_EPOCH_LIMIT < value < _EPOCH_LIMIT else math.inf
    else:
        raise ValueError("not an epoch timestamp")
    if not (math.isfinite(number) and 0 <= number < _EPOCH_LIMIT):
        raise ValueError("epoch timestamp out of range")
    return number / 1000 if number > MILLISECONDS_ABOVE else number


def parse_timestamp(value: Any, timestamp_format: str) -> datetime:
    """``value`` in ``timestamp_format`` (``epoch`` or ``iso8601``) as an aware UTC
    datetime; ValueError if it cannot be read."""
    if timestamp_format == "epoch":
        try:
            return datetime.fromtimestamp(epoch_seconds(value), UTC)
        except (OverflowError, OSError):
            raise ValueError("epoch timestamp out of range") from None
    if not isinstance(value, str) or len(value) > _ISO_MAX_LENGTH:
        raise ValueError("not an ISO 8601 timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00-01:00
        raise ValueError("timestamp out of range") from None


def to_epoch(now: datetime | float | None) -> float:
    """``now`` as seconds since the epoch: the real clock for None, a naive datetime as UTC."""
    if now is None:
        return datetime.now(UTC).timestamp()
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    seconds = float(now)
    if not math.isfinite(seconds):  # NaN compares false, which would pass any window
        raise ValidationError("must be a finite number of seconds", field="now")
    return seconds
