"""``memory://`` keeps the records it changes as objects (no JSON on a send's path),
with the same states as every other store: the same ledger answers and records as a
store that reads and compare-and-sets bytes (SQLite), the same bytes to whoever reads
them as bytes, and records written as bytes read back through their codec."""

from __future__ import annotations

from pathlib import Path

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailspec.mailer import Claimed, Ledger, MemoryStore
from mailspec.mailer.breaker import BreakerState
from mailspec.stores.base import KEEP, Codec, transact, update
from mailspec.stores.sqlite import SqliteStore

T0 = 1_700_000_000.0

# one ledger call: (method, key, owner, seconds after T0)
CALLS = st.lists(
    st.tuples(
        st.sampled_from(["claim", "fence", "note", "clear", "abandon", "record", "release"]),
        st.sampled_from(["k1", "k2"]),
        st.sampled_from(["w1", "w2"]),
        st.sampled_from([0.0, 5.0, 29.0, 31.0, 100.0]),
    ),
    max_size=14,
)


def run(ledger: Ledger, calls: list[tuple[str, str, str, float]]) -> list[object]:
    """Every call's answer, then what each key holds."""
    answers: list[object] = []
    for method, key, owner, after in calls:
        now = T0 + after
        if method == "claim":
            answers.append(ledger.claim(key, owner, 30.0, now, "m1:abc"))
        elif method == "fence":
            answers.append(ledger.fence(key, owner, 30.0, now))
        elif method == "note":
            answers.append(ledger.note(key, owner, "postmark", 30.0, now))
        elif method == "clear":
            answers.append(ledger.clear(key, owner, "postmark", now))
        elif method == "abandon":
            answers.append(ledger.abandon(key, owner, now, ["mailgun"]))
        elif method == "record":
            answers.append(ledger.record(key, owner, b'{"provider":"postmark"}', now))
        else:
            answers.append(ledger.release(key, owner))
    return [*answers, ledger.lookup("k1"), ledger.lookup("k2")]


@settings(max_examples=300, deadline=None)
@given(calls=CALLS)
@example(calls=[("claim", "k1", "w1", 0.0), ("release", "k1", "w1", 0.0)])
@example(
    calls=[("claim", "k1", "w1", 0.0), ("claim", "k1", "w2", 31.0), ("note", "k1", "w1", 31.0)]
)
@example(
    calls=[("claim", "k2", "w1", 0.0), ("abandon", "k2", "w1", 5.0), ("claim", "k2", "w2", 5.0)]
)
def test_the_ledger_answers_on_memory_as_on_a_compare_and_set_store(
    calls: list[tuple[str, str, str, float]], tmp_path_factory
) -> None:
    directory: Path = tmp_path_factory.mktemp("ledger")
    clock = lambda: T0  # noqa: E731  expiry never reached: the retention is days
    on_sqlite = SqliteStore(str(directory / "ledger.db"), clock=clock)
    try:
        assert run(Ledger(MemoryStore(clock=clock)), calls) == run(Ledger(on_sqlite), calls)
    finally:
        on_sqlite.close()


def test_a_record_kept_as_an_object_reads_as_its_json() -> None:
    store = MemoryStore()
    claim = Ledger(store).claim("k1", "w1", 30.0, T0)
    raw = store.get("ledger:k1")
    assert raw == msgspec.json.encode(claim.entry)
    assert msgspec.json.decode(raw, type=Claimed) == claim.entry
    # a writer of bytes sees those bytes, and may replace them with compare-and-set
    assert store.compare_and_set("ledger:k1", raw, b"{}")
    assert store.get("ledger:k1") == b"{}"


def test_a_record_written_as_bytes_is_read_through_its_codec() -> None:
    store = MemoryStore()
    entry = Claimed("w1", at=T0, lease_until=T0 + 30.0, first_at=T0)
    assert store.compare_and_set("ledger:k1", None, msgspec.json.encode(entry), 60.0)
    ledger = Ledger(store)
    assert ledger.lookup("k1") == entry
    again = ledger.claim("k1", "w1", 30.0, T0 + 1.0)  # the owner again: its lease moves on
    assert again.entry.lease_until == T0 + 31.0


class CountingCodec(Codec[BreakerState | None]):
    def __init__(self) -> None:
        self.decoded = 0

        def decode(raw: bytes) -> BreakerState | None:
            self.decoded += 1
            return msgspec.json.decode(raw, type=BreakerState)

        super().__init__(decode, msgspec.json.encode)


def test_the_object_written_is_changed_again_without_decoding() -> None:
    store, codec = MemoryStore(), CountingCodec()

    def bump(state: BreakerState | None) -> tuple[object, int, None]:
        failures = (state.failures if state is not None else 0) + 1
        return BreakerState(failures=failures), failures, None

    assert [update(store, "breaker:x", codec, bump) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert codec.decoded == 0
    # another codec (another kind of record under the key) reads the bytes
    other = CountingCodec()
    assert update(store, "breaker:x", other, lambda s: (KEEP, s, None)) == BreakerState(failures=5)
    assert other.decoded == 1
    assert update(store, "breaker:x", codec, lambda s: (None, None, None)) is None
    assert store.get("breaker:x") is None


def test_transact_keeps_an_unchanged_record_unwritten_on_memory() -> None:
    store = MemoryStore()
    calls = []

    def same(state: BreakerState) -> tuple[BreakerState, str]:
        calls.append(state)
        return state, "read"

    assert transact(store, "breaker:x", BreakerState, BreakerState(), same) == "read"
    assert store.get("breaker:x") is None  # the default, unchanged: nothing written
    assert calls == [BreakerState()]
