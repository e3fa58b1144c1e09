"""What every store promises, checked on each of memory://, sqlite:/// and redis://:
compare-and-set, deletion, expiry, and transact() exact under contention."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid

import msgspec
import pytest
from stores_support import FakeClock, run_threads

import mailspec
from mailspec import ValidationError
from mailspec.mailer import MemoryStore, StateStore
from mailspec.mailer.store import transact
from mailspec.stores.sqlite import SqliteStore


class Counter(msgspec.Struct, frozen=True):
    n: int = 0


def bump(c: Counter) -> tuple[Counter, int]:
    return Counter(c.n + 1), c.n + 1


def count(store: StateStore, key: str) -> int:
    raw = store.get(key)
    return 0 if raw is None else msgspec.json.decode(raw, type=Counter).n


def test_every_store_is_a_state_store(backend) -> None:
    assert isinstance(backend.open(), StateStore)


def test_compare_and_set_writes_only_over_what_was_expected(backend) -> None:
    store = backend.open()
    assert store.get("k") is None
    assert store.compare_and_set("k", None, b"1")
    assert store.get("k") == b"1"
    assert not store.compare_and_set("k", None, b"2")  # not absent any more
    assert not store.compare_and_set("k", b"0", b"2")  # not what it holds
    assert store.get("k") == b"1"
    assert store.compare_and_set("k", b"1", b"2")
    assert store.get("k") == b"2"
    assert store.get("other") is None  # keys are apart


def test_compare_and_set_with_none_deletes(backend) -> None:
    store = backend.open()
    store.compare_and_set("k", None, b"1")
    assert not store.compare_and_set("k", b"0", None)  # not what it holds: kept
    assert store.get("k") == b"1"
    assert store.compare_and_set("k", b"1", None)
    assert store.get("k") is None
    assert store.compare_and_set("k", None, b"again")  # absent again: a fresh write


def test_records_are_bytes_kept_exactly(backend) -> None:
    store = backend.open()
    odd = bytes(range(256)) + b"\x00tail"
    assert store.compare_and_set("bin", None, odd)
    assert store.get("bin") == odd
    assert store.compare_and_set("bin", odd, b"")  # an empty record is not an absent one
    assert store.get("bin") == b""
    assert not store.compare_and_set("bin", None, b"x")


def test_a_second_handle_sees_the_same_records(backend) -> None:
    one, two = backend.open(), backend.open()
    assert one.compare_and_set("k", None, b"from one")
    assert two.get("k") == b"from one"
    assert not two.compare_and_set("k", None, b"from two")
    assert two.compare_and_set("k", b"from one", b"from two")
    assert one.get("k") == b"from two"


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "10", True])
def test_a_bad_ttl_is_a_validation_error(backend, ttl) -> None:
    with pytest.raises(ValidationError) as caught:
        backend.open().compare_and_set("k", None, b"1", ttl)
    assert caught.value.field == "ttl"
    assert backend.open().get("k") is None


def test_transact_is_exact_under_eight_threads(backend) -> None:
    store = backend.open()
    store.compare_and_set("c", None, b"not json")  # an unreadable record is replaced
    # each thread on its own handle, as threads of different Mailers would be
    handles = [backend.open() for _ in range(8)]

    def work(i: int) -> None:
        for _ in range(100):
            transact(handles[i], "c", Counter, Counter(), bump)

    run_threads(8, work)
    assert count(store, "c") == 800


def test_transact_can_write_with_an_expiry(backend) -> None:
    store = backend.open()
    assert transact(store, "c", Counter, Counter(), bump, ttl=60) == 1
    assert count(store, "c") == 1
    if backend.redis_server is not None:
        left = backend.redis_server.client().pttl(backend.prefix + "c")
        assert 0 < left <= 60_000


# --- expiry, on the store's own clock ------------------------------------------------------


def clocked(name: str, tmp_path, clock: FakeClock) -> StateStore:
    if name == "memory":
        return MemoryStore(clock=clock)
    return SqliteStore(tmp_path / "clocked.db", clock=clock)


@pytest.mark.parametrize("name", ["memory", "sqlite"])
def test_expiry_on_the_wall_clock(name, tmp_path) -> None:
    clock = FakeClock()
    store = clocked(name, tmp_path, clock)
    assert store.compare_and_set("k", None, b"1", ttl=10)
    clock.advance(9.99)
    assert store.get("k") == b"1"
    assert not store.compare_and_set("k", None, b"2", ttl=10)  # still there
    clock.advance(0.01)
    assert store.get("k") is None  # expired: absent
    assert not store.compare_and_set("k", b"1", b"2")  # an expired record is not held
    assert store.compare_and_set("k", None, b"2")  # written without ttl: keeps
    clock.advance(10**6)
    assert store.get("k") == b"2"


@pytest.mark.parametrize("name", ["memory", "sqlite"])
def test_a_write_without_ttl_clears_an_earlier_expiry(name, tmp_path) -> None:
    clock = FakeClock()
    store = clocked(name, tmp_path, clock)
    store.compare_and_set("k", None, b"1", ttl=5)
    store.compare_and_set("k", b"1", b"2")
    clock.advance(60)
    assert store.get("k") == b"2"
    store.compare_and_set("k", b"2", b"3", ttl=5)  # and a ttl can be set again
    clock.advance(5)
    assert store.get("k") is None


def test_memory_store_sweeps_expired_records_out_of_memory() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    for i in range(1000):
        store.compare_and_set(f"old{i}", None, b"x", ttl=1)
    clock.advance(2)
    for i in range(100):  # the 1,024th write sweeps
        store.compare_and_set(f"new{i}", None, b"x")
    assert repr(store) == "<MemoryStore 100 records>"


def test_sqlite_store_sweeps_expired_rows_from_the_file(tmp_path) -> None:
    clock = FakeClock()
    path = tmp_path / "sweep.db"
    store = SqliteStore(path, clock=clock)
    for i in range(10):
        store.compare_and_set(f"old{i}", None, b"x", ttl=1)
    store.compare_and_set("kept", None, b"x")
    clock.advance(2)
    SqliteStore(path, clock=clock)  # opening sweeps
    with contextlib.closing(sqlite3.connect(path)) as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM mailspec_state")]
    assert keys == ["kept"]


def test_redis_expiry_is_the_servers_own(redis_server) -> None:
    prefix = f"expiry-{uuid.uuid4().hex[:8]}:"
    store = mailspec.store(redis_server.url(prefix=prefix))
    client = redis_server.client()
    assert store.compare_and_set("k", None, b"1", ttl=1.0)
    left = client.pttl(prefix + "k")
    assert 0 < left <= 1000  # SET ... PX 1000
    assert store.compare_and_set("k", b"1", b"2")  # a SET without PX keeps no expiry
    assert client.pttl(prefix + "k") == -1
    assert store.compare_and_set("k", b"2", b"3", ttl=0.2)
    deadline = time.monotonic() + 10
    while store.get("k") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get("k") is None
    assert client.exists(prefix + "k") == 0  # gone from the server, not just hidden
    assert store.compare_and_set("k", None, b"fresh")
