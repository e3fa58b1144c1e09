"""The ledger's state machine on every store: claim, a live lease held, an expired lease
taken over, record, lookup, replay, and a stale owner that cannot overwrite. Time is
the ``now`` each call is given, so no test waits for a lease."""

from __future__ import annotations

import threading

import msgspec
import pytest
from stores_support import FakeClock, run_threads

from mailspec import Attempt, SendResult, ValidationError
from mailspec.mailer import Claim, Claimed, ClaimStatus, Ledger, MemoryStore, Recorded
from mailspec.mailer.ledger import DEFAULT_RETENTION
from mailspec.stores.sqlite import SqliteStore

T0 = 1_700_000_000.0
LEASE = 30.0


@pytest.fixture
def ledger(backend) -> Ledger:
    return Ledger(backend.open())


def test_a_fresh_key_is_claimed(ledger) -> None:
    assert ledger.lookup("order-1") is None
    claim = ledger.claim("order-1", "w1", LEASE, T0)
    assert claim == Claim(
        ClaimStatus.CLAIMED, Claimed("w1", at=T0, lease_until=T0 + LEASE, first_at=T0)
    )
    assert claim.owned
    assert ledger.lookup("order-1") == claim.entry


def test_a_live_lease_is_held_against_a_second_sender(ledger) -> None:
    first = ledger.claim("order-1", "w1", LEASE, T0)
    second = ledger.claim("order-1", "w2", LEASE, T0 + LEASE - 0.001)
    assert second.status is ClaimStatus.HELD and not second.owned
    assert second.entry == first.entry  # whose it is, and until when
    assert ledger.lookup("order-1") == first.entry  # nothing changed
    assert ledger.claim("order-2", "w2", LEASE, T0).status is ClaimStatus.CLAIMED  # keys apart


def test_an_expired_lease_is_taken_over_as_ambiguous(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    later = T0 + LEASE  # the lease ends here: expired
    takeover = ledger.claim("order-1", "w2", 10.0, later)
    assert takeover.status is ClaimStatus.EXPIRED and takeover.owned
    assert takeover.entry == Claimed(
        "w2", at=later, lease_until=later + 10.0, first_at=T0, taken_over_from="w1"
    )
    # of the others, none gets it too: the new lease is live
    third = ledger.claim("order-1", "w3", LEASE, later + 1)
    assert third.status is ClaimStatus.HELD and third.entry.owner == "w2"


def test_clear_crosses_a_provider_off_for_the_owner_only(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    ledger.note("order-1", "w1", "aurorasendcloud", LEASE, T0)
    ledger.note("order-1", "w1", "sendcloud", LEASE, T0 + 1)
    assert ledger.clear("order-1", "w2", "aurorasendcloud", T0 + 2) is False
    assert ledger.lookup("order-1").tried == ["aurorasendcloud", "sendcloud"]
    assert ledger.clear("order-1", "w1", "aurorasendcloud", T0 + 2) is True
    assert ledger.clear("order-1", "w1", "cloudmails", T0 + 2) is True  # never noted
    # whoever takes the key over later finds only the provider that may hold it
    takeover = ledger.claim("order-1", "w3", LEASE, T0 + 2 * LEASE)
    assert takeover.status is ClaimStatus.EXPIRED and takeover.entry.tried == ["sendcloud"]


def test_record_then_lookup_and_claim_replay_the_outcome(ledger) -> None:
    result = SendResult(
        provider="aurorasendcloud",
        message_ids=["aur-000001"],
        attempts=[Attempt("aurorasendcloud", "accepted", 0.12)],
    )
    outcome = msgspec.json.encode(result)
    ledger.claim("order-1", "w1", LEASE, T0)
    assert ledger.record("order-1", "w1", outcome, T0 + 1)
    recorded = ledger.lookup("order-1")
    assert recorded == Recorded("w1", at=T0 + 1, first_at=T0, outcome=outcome)
    replay = ledger.claim("order-1", "w2", LEASE, T0 + 10**5)
    assert replay.status is ClaimStatus.RECORDED and not replay.owned
    assert msgspec.json.decode(replay.entry.outcome, type=SendResult) == result
    assert ledger.claim("order-1", "w1", LEASE, T0 + 2).status is ClaimStatus.RECORDED


def test_a_stale_owner_cannot_overwrite_the_new_owners_outcome(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    ledger.claim("order-1", "w2", LEASE, T0 + LEASE + 1)  # w1's lease ran out: taken over
    assert not ledger.record("order-1", "w1", b"w1 thinks it sent", T0 + LEASE + 2)
    assert not ledger.renew("order-1", "w1", LEASE, T0 + LEASE + 2)
    assert not ledger.release("order-1", "w1")
    assert isinstance(ledger.lookup("order-1"), Claimed)  # still w2's claim
    assert ledger.record("order-1", "w2", b"resolved: sent", T0 + LEASE + 3)
    assert not ledger.record("order-1", "w1", b"w1 again", T0 + LEASE + 4)
    assert ledger.lookup("order-1").outcome == b"resolved: sent"


def test_an_owner_whose_lease_ran_out_untaken_may_still_record(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    assert ledger.record("order-1", "w1", b"failed", T0 + 10 * LEASE)
    assert ledger.lookup("order-1").outcome == b"failed"


def test_recording_is_idempotent_and_the_first_outcome_stays(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    assert ledger.record("order-1", "w1", b"sent", T0 + 1)
    assert ledger.record("order-1", "w1", b"sent", T0 + 2)  # a retried record: fine
    assert ledger.lookup("order-1").at == T0 + 1  # and not rewritten
    assert not ledger.record("order-1", "w1", b"something else", T0 + 3)
    assert not ledger.record("order-1", "w2", b"sent", T0 + 3)
    assert ledger.lookup("order-1").outcome == b"sent"


def test_an_outcome_is_recorded_even_without_a_claim(ledger) -> None:
    assert ledger.record("order-9", "w1", b"sent", T0)
    assert ledger.lookup("order-9") == Recorded("w1", at=T0, first_at=T0, outcome=b"sent")


def test_renew_extends_only_the_owners_lease(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    assert ledger.renew("order-1", "w1", LEASE, T0 + 20)
    assert ledger.lookup("order-1").lease_until == T0 + 20 + LEASE
    assert ledger.claim("order-1", "w2", LEASE, T0 + LEASE + 1).status is ClaimStatus.HELD
    assert not ledger.renew("order-1", "w2", LEASE, T0 + 21)
    assert not ledger.renew("order-2", "w1", LEASE, T0)  # nothing to renew
    assert ledger.lookup("order-2") is None
    ledger.record("order-1", "w1", b"sent", T0 + 30)
    assert not ledger.renew("order-1", "w1", LEASE, T0 + 31)  # recorded: nothing to renew


def test_claiming_again_answers_as_the_first_claim_did(ledger) -> None:
    """A claim whose answer was lost (the store timed out after writing) can be made again."""
    first = ledger.claim("order-1", "w1", LEASE, T0)
    again = ledger.claim("order-1", "w1", LEASE, T0 + 5)
    assert again.status is ClaimStatus.CLAIMED
    assert again.entry == msgspec.structs.replace(first.entry, lease_until=T0 + 5 + LEASE)
    taken = ledger.claim("order-1", "w2", LEASE, T0 + 100)
    assert taken.status is ClaimStatus.EXPIRED
    assert ledger.claim("order-1", "w2", LEASE, T0 + 101).status is ClaimStatus.EXPIRED


def test_release_makes_the_key_fresh_again(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    assert not ledger.release("order-1", "w2")  # not w2's
    assert ledger.release("order-1", "w1")
    assert ledger.lookup("order-1") is None
    assert ledger.claim("order-1", "w2", LEASE, T0 + 1).status is ClaimStatus.CLAIMED
    ledger.record("order-1", "w2", b"sent", T0 + 2)
    assert not ledger.release("order-1", "w2")  # an outcome is never released
    assert ledger.lookup("order-1").outcome == b"sent"


def test_an_unreadable_record_is_taken_for_a_dead_sender_never_for_absent(backend) -> None:
    store = backend.open()
    store.compare_and_set("ledger:order-1", None, b'{"state":"from-a-later-version"}')
    ledger = Ledger(store)
    claim = ledger.claim("order-1", "w1", LEASE, T0)
    assert claim.status is ClaimStatus.EXPIRED  # resolve it: it may have been sent
    assert claim.entry.taken_over_from == "(unreadable record)"
    assert ledger.record("order-2", "w1", b"x", T0)  # other keys are not touched


def test_records_are_readable_json(backend) -> None:
    store = backend.open()
    ledger = Ledger(store)
    ledger.claim("order-1", "w1", LEASE, T0)
    assert msgspec.json.decode(store.get("ledger:order-1")) == {
        "state": "claimed",
        "owner": "w1",
        "at": T0,
        "lease_until": T0 + LEASE,
        "first_at": T0,
    }
    ledger.record("order-1", "w1", b"sent", T0 + 1)
    stored = msgspec.json.decode(store.get("ledger:order-1"))
    assert stored["state"] == "recorded" and stored["at"] == T0 + 1


def test_only_one_of_eight_threads_claims_and_only_one_takes_over(backend) -> None:
    handles = [Ledger(backend.open()) for _ in range(8)]
    got: list[ClaimStatus] = []
    lock = threading.Lock()

    def claim_at(now: float, owners: str) -> None:
        got.clear()

        def work(i: int) -> None:
            status = handles[i].claim("order-1", f"{owners}{i}", LEASE, now).status
            with lock:
                got.append(status)

        run_threads(8, work)

    claim_at(T0, "w")
    assert sorted(s.value for s in got) == ["claimed"] + ["held"] * 7
    claim_at(T0 + LEASE + 1, "v")  # the lease ran out: eight others find it
    assert sorted(s.value for s in got) == ["expired"] + ["held"] * 7
    taken = handles[0].lookup("order-1")
    assert isinstance(taken, Claimed) and taken.owner.startswith("v")
    assert taken.taken_over_from is not None and taken.taken_over_from.startswith("w")


# --- retention ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_outcomes_keep_for_the_retention_then_go(kind, tmp_path) -> None:
    clock = FakeClock(T0)
    store = (
        MemoryStore(clock=clock)
        if kind == "memory"
        else SqliteStore(tmp_path / "l.db", clock=clock)
    )
    ledger = Ledger(store, retention=3600)
    ledger.claim("order-1", "w1", LEASE, clock())
    ledger.record("order-1", "w1", b"sent", clock())
    clock.advance(3599)
    assert isinstance(ledger.lookup("order-1"), Recorded)
    clock.advance(1)
    assert ledger.lookup("order-1") is None


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_dead_senders_claim_stays_visible_past_its_lease(kind, tmp_path) -> None:
    clock = FakeClock(T0)
    store = (
        MemoryStore(clock=clock)
        if kind == "memory"
        else SqliteStore(tmp_path / "l.db", clock=clock)
    )
    ledger = Ledger(store, retention=3600)
    ledger.claim("order-1", "w1", LEASE, clock())
    clock.advance(3600)  # long past the lease, still within lease + retention
    assert ledger.claim("order-1", "w2", LEASE, clock()).status is ClaimStatus.EXPIRED


def test_retention_is_the_redis_keys_expiry(redis_server) -> None:
    import mailspec

    prefix = "retention-test:"
    ledger = Ledger(mailspec.store(redis_server.url(prefix=prefix)))
    assert ledger.retention == DEFAULT_RETENTION == 7 * 24 * 3600
    client = redis_server.client()
    ledger.claim("order-1", "w1", LEASE, T0)
    claimed_ttl = client.pttl(prefix + "ledger:order-1")
    assert (
        (DEFAULT_RETENTION + LEASE - 60) * 1000 < claimed_ttl <= (DEFAULT_RETENTION + LEASE) * 1000
    )
    ledger.record("order-1", "w1", b"sent", T0 + 1)
    recorded_ttl = client.pttl(prefix + "ledger:order-1")
    assert (DEFAULT_RETENTION - 60) * 1000 < recorded_ttl <= DEFAULT_RETENTION * 1000


# --- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda lg: lg.claim("", "w1", LEASE, T0), "idempotency_key"),
        (lambda lg: lg.claim("k" * 1025, "w1", LEASE, T0), "idempotency_key"),
        (lambda lg: lg.claim(7, "w1", LEASE, T0), "idempotency_key"),
        (lambda lg: lg.claim("k", "", LEASE, T0), "owner"),
        (lambda lg: lg.claim("k", None, LEASE, T0), "owner"),
        (lambda lg: lg.claim("k", "w1", 0, T0), "lease_seconds"),
        (lambda lg: lg.claim("k", "w1", float("inf"), T0), "lease_seconds"),
        (lambda lg: lg.claim("k", "w1", "30", T0), "lease_seconds"),
        (lambda lg: lg.claim("k", "w1", LEASE, float("nan")), "now"),
        (lambda lg: lg.claim("k", "w1", LEASE, None), "now"),
        (lambda lg: lg.renew("k", "w1", -1, T0), "lease_seconds"),
        (lambda lg: lg.record("k", "w1", "sent", T0), "outcome"),
        (lambda lg: lg.record("k", "w1", b"sent", float("inf")), "now"),
        (lambda lg: lg.release("k", 3), "owner"),
        (lambda lg: lg.lookup(""), "idempotency_key"),
        (lambda lg: lg.claim("k", "w1", LEASE, T0, ""), "fingerprint"),
        (lambda lg: lg.claim("k", "w1", LEASE, T0, b"m1:x"), "fingerprint"),
        (lambda lg: lg.record("k", "w1", b"sent", T0, "x" * 257), "fingerprint"),
        (lambda lg: lg.fence("k", "w1", LEASE, T0, 7), "provider"),
        (lambda lg: lg.fence("k", "w1", -1, T0), "lease_seconds"),
    ],
)
def test_bad_arguments_are_validation_errors(call, field) -> None:
    ledger = Ledger(MemoryStore())
    with pytest.raises(ValidationError) as caught:
        call(ledger)
    assert caught.value.field == field
    assert ledger.lookup("k") is None  # nothing written


@pytest.mark.parametrize("retention", [0, -5, float("nan"), "7d"])
def test_a_bad_retention_or_store_is_refused(retention) -> None:
    with pytest.raises(ValidationError, match="retention"):
        Ledger(MemoryStore(), retention=retention)
    with pytest.raises(ValidationError, match="store: expected a StateStore"):
        Ledger("memory://")  # type: ignore[arg-type]


# --- fingerprints: one key, one message ---------------------------------------------------

RECEIPT, OTHER = "m1:" + "a" * 64, "m1:" + "b" * 64


def test_a_claim_for_another_message_conflicts_whatever_the_key_holds(ledger) -> None:
    """Held, run out or recorded: a different fingerprint is CONFLICT, nothing written;
    the same one is held, taken over or replayed as ever."""
    ledger.claim("order-1", "w1", LEASE, T0, RECEIPT)
    held = ledger.lookup("order-1")
    for now in (T0 + 1, T0 + LEASE + 1):  # the lease live, then run out
        conflict = ledger.claim("order-1", "w2", LEASE, now, OTHER)
        assert conflict.status is ClaimStatus.CONFLICT and not conflict.owned
        assert conflict.entry == held
        assert ledger.lookup("order-1") == held  # not taken over
    assert ledger.claim("order-1", "w2", LEASE, T0 + 1, RECEIPT).status is ClaimStatus.HELD
    taken = ledger.claim("order-1", "w3", LEASE, T0 + LEASE + 1, RECEIPT)
    assert taken.status is ClaimStatus.EXPIRED and taken.entry.fingerprint == RECEIPT
    assert ledger.record("order-1", "w3", b"sent", T0 + LEASE + 2)
    recorded = ledger.lookup("order-1")
    assert recorded.fingerprint == RECEIPT  # the outcome keeps the claim's
    assert ledger.claim("order-1", "w4", LEASE, T0 + 10**5, OTHER).status is ClaimStatus.CONFLICT
    assert ledger.claim("order-1", "w4", LEASE, T0 + 10**5, RECEIPT).status is ClaimStatus.RECORDED
    assert ledger.lookup("order-1") == recorded


def test_an_unknown_fingerprint_never_conflicts(ledger) -> None:
    """None on either side (a record an earlier version wrote, a caller giving none), or
    another scheme (a later version's), is unknown: replayed and held as before."""
    ledger.claim("order-1", "w1", LEASE, T0)
    assert ledger.claim("order-1", "w2", LEASE, T0 + 1, OTHER).status is ClaimStatus.HELD
    ledger.record("order-1", "w1", b"sent", T0 + 2)
    assert ledger.claim("order-1", "w2", LEASE, T0 + 3, OTHER).status is ClaimStatus.RECORDED
    ledger.claim("order-2", "w1", LEASE, T0, RECEIPT)
    assert ledger.claim("order-2", "w2", LEASE, T0 + 1).status is ClaimStatus.HELD
    later = "m2:" + "c" * 64
    assert ledger.claim("order-2", "w2", LEASE, T0 + 1, later).status is ClaimStatus.HELD


def test_records_of_the_previous_version_are_read_and_adopt_a_fingerprint(backend) -> None:
    """Records written before fingerprints (no such field) are replayed, or taken over,
    the taker's fingerprint then kept."""
    store = backend.open()
    old_claim = b'{"state":"claimed","owner":"w0","at":1.0,"lease_until":31.0,"first_at":1.0}'
    old_outcome = b'{"state":"recorded","owner":"w0","at":2.0,"first_at":1.0,"outcome":"c2VudA=="}'
    store.compare_and_set("ledger:claimed", None, old_claim)
    store.compare_and_set("ledger:recorded", None, old_outcome)
    ledger = Ledger(store)
    replay = ledger.claim("recorded", "w1", LEASE, T0, RECEIPT)
    assert replay.status is ClaimStatus.RECORDED and replay.entry.outcome == b"sent"
    assert replay.entry.fingerprint is None
    taken = ledger.claim("claimed", "w1", LEASE, T0, RECEIPT)
    assert taken.status is ClaimStatus.EXPIRED and taken.entry.taken_over_from == "w0"
    assert ledger.claim("claimed", "w2", LEASE, T0 + 1, OTHER).status is ClaimStatus.CONFLICT


def test_the_fingerprint_is_in_the_readable_json(backend) -> None:
    store = backend.open()
    ledger = Ledger(store)
    ledger.claim("order-1", "w1", LEASE, T0, RECEIPT)
    assert msgspec.json.decode(store.get("ledger:order-1"))["fingerprint"] == RECEIPT
    ledger.record("order-1", "w1", b"sent", T0 + 1)
    assert msgspec.json.decode(store.get("ledger:order-1"))["fingerprint"] == RECEIPT
    assert ledger.record("order-2", "w1", b"sent", T0, RECEIPT)  # no claim: given here
    assert ledger.lookup("order-2").fingerprint == RECEIPT


# --- fencing: a request only while the claim is still the sender's -------------------------


def test_fence_keeps_the_owners_claim_and_notes_the_provider(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    held = ledger.fence("order-1", "w1", LEASE, T0 + 20, "sendcloud")
    assert held == ledger.lookup("order-1")
    assert (held.owner, held.lease_until, held.tried) == ("w1", T0 + 20 + LEASE, ["sendcloud"])
    # its lease ran out, nobody took the key over: still w1's alone, renewed
    renewed = ledger.fence("order-1", "w1", LEASE, T0 + 10 * LEASE)
    assert renewed.lease_until == T0 + 11 * LEASE and renewed.tried == ["sendcloud"]


def test_fence_just_after_a_renewal_writes_nothing(backend) -> None:
    store = backend.open()
    ledger = Ledger(store)
    ledger.claim("order-1", "w1", LEASE, T0)
    raw = store.get("ledger:order-1")
    assert ledger.fence("order-1", "w1", LEASE, T0 + 0.5).owner == "w1"
    assert store.get("ledger:order-1") == raw  # a read: the lease was renewed just now
    assert ledger.fence("order-1", "w1", LEASE, T0 + 2).lease_until == T0 + 2 + LEASE


def test_fence_tells_a_sender_it_lost_the_key_and_writes_nothing(ledger) -> None:
    ledger.claim("order-1", "w1", LEASE, T0)
    # w2's clock runs a lease ahead: it finds w1's lease run out, and takes the key over
    assert ledger.claim("order-1", "w2", LEASE, T0 + LEASE + 1).status is ClaimStatus.EXPIRED
    taken = ledger.lookup("order-1")
    lost = ledger.fence("order-1", "w1", LEASE, T0 + 1, "cloudmails")
    assert lost == taken and lost.owner == "w2" and lost.tried == []
    assert not ledger.note("order-1", "w1", "cloudmails", LEASE, T0 + 1)
    assert ledger.lookup("order-1") == taken
    ledger.record("order-1", "w2", b"sent", T0 + LEASE + 2)
    assert ledger.fence("order-1", "w1", LEASE, T0 + 2) == ledger.lookup("order-1")
    assert ledger.fence("order-9", "w1", LEASE, T0) is None  # nothing to keep
    assert ledger.lookup("order-9") is None
