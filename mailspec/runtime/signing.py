"""Signed requests: a digest of the parameters keyed by a secret that is never sent.

The SendCloud platform's scheme (its SMS API): the hex digest of ``KEY&`` + every
``name=value`` pair sorted by name and joined by ``&`` + ``&KEY``. The values are the
plain text, before form encoding, so both ends compute it from what they decoded.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["signature", "valid_signature"]


def signature(pairs: Iterable[tuple[str, str]], *, algorithm: str, key: str) -> str:
    text = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    return hashlib.new(algorithm, f"{key}&{text}&{key}".encode()).hexdigest()


def valid_signature(
    pairs: Iterable[tuple[str, str]], given: str, *, algorithm: str, key: str
) -> bool:
    """Whether ``given`` signs ``pairs``, compared in constant time."""
    expected = signature(pairs, algorithm=algorithm, key=key)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
