"""memory:// keeps a bounded number of expiring records (the ledger writes one per
send and keeps it for days), forgetting the soonest to expire first; records that
never expire (breakers, rate limits) are kept whatever the bound."""

from __future__ import annotations

import pytest
from time_support import FakeClock

from mailspec import ValidationError
from mailspec.mailer import Ledger
from mailspec.stores import MemoryStore


def test_past_the_bound_the_soonest_to_expire_go_first() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock, max_records=3)
    assert store.compare_and_set("breaker:a", None, b"closed")  # never expires
    for n, ttl in enumerate([50.0, 10.0, 40.0, 30.0, 20.0]):
        assert store.compare_and_set(f"k{n}", None, b"x", ttl)
    kept = {key for key in ["breaker:a", "k0", "k1", "k2", "k3", "k4"] if store.get(key)}
    assert kept == {"breaker:a", "k0", "k2", "k3"}  # k1 (10 s) and k4 (20 s) were dropped


def test_a_rewritten_record_counts_once() -> None:
    store = MemoryStore(clock=FakeClock(), max_records=2)
    assert store.compare_and_set("a", None, b"1", 10.0)
    for value in (b"2", b"3", b"4"):  # a claim renewed, then its outcome
        assert store.compare_and_set("a", store.get("a"), value, 10.0)
    assert store.compare_and_set("b", None, b"1", 5.0)
    assert (store.get("a"), store.get("b")) == (b"4", b"1")


def test_a_ledger_in_memory_replays_its_recent_keys_and_stays_bounded() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock, max_records=100)
    ledger = Ledger(store)
    for n in range(1_000):
        ledger.claim(f"key-{n}", "me", 30.0, clock())
        ledger.record(f"key-{n}", "me", b"sent", clock())
        clock.advance(0.01)
    assert ledger.lookup("key-999") is not None and ledger.lookup("key-900") is not None
    assert ledger.lookup("key-0") is None  # forgotten: the oldest went first
    assert repr(store) == "<MemoryStore 100 records>"
    assert len(store._expiries) <= 2 * 100 + 64  # the heap does not keep stale entries


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_the_bound_is_a_whole_number_from_one(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_records"):
        MemoryStore(max_records=bad)  # type: ignore[arg-type]
