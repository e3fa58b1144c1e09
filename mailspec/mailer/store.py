"""The store interface the Mailer keeps breaker, bucket, pause and ledger records behind,
where it has always been importable from. The stores themselves, and
:func:`mailspec.store` choosing one by URL, are in :mod:`mailspec.stores`."""

from __future__ import annotations

from ..stores.base import StateStore, transact
from ..stores.memory import MemoryStore

__all__ = ["MemoryStore", "StateStore", "transact"]
