"""Exactly once: one idempotency key per logical send, carried on every retry and
provider, a ledger that replays an accepted key, and ambiguity resolved before anything
is sent elsewhere — against the sandbox servers over real HTTP (DESIGN.md, "Exactly
once")."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from mailer_support import FakeClock

import mailspec
from mailspec import (
    AllProvidersFailed,
    Attachment,
    ConflictError,
    IdempotencyConflict,
    Mailer,
    Message,
    ProviderError,
    SendInProgress,
    ValidationError,
)
from mailspec.celery import message_from_payload, message_payload
from mailspec.mailer import ClaimStatus, TokenBucket
from mailspec.mailer.claims import fingerprint
from mailspec.message import MESSAGE_FIELDS
from mailspec.sandbox import Fault, Sandbox
from mailspec.stores import MemoryStore

NAMES = ["aurorasendcloud", "sendcloud", "cloudmails"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(NAMES, slow_seconds=0.6) as running:
        yield running


def mailer(sandbox: Sandbox, clock: FakeClock, names: list[str], **options: Any) -> Mailer:
    providers = [sandbox[name].provider(timeout=0.3) for name in names]
    return Mailer(providers, clock=clock, sleep=clock.sleep, **options)


def message(key: str | None = None, **fields: Any) -> Message:
    receipt = {
        "from_email": "noreply@example.com",
        "to": "ann@example.org",
        "subject": "Your receipt",
        "html": "<p>Thanks</p>",
    }
    return Message(**{**receipt, **fields}, idempotency_key=key)


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


def test_a_key_is_made_when_absent_and_carried_to_the_provider(sandbox, clock) -> None:
    result = mailer(sandbox, clock, ["sendcloud"]).send(message())
    assert result.idempotency_key is not None and len(result.idempotency_key) == 32
    (row,) = sandbox["sendcloud"].accepted
    assert row.params["send_request_id"] == result.idempotency_key
    other = mailer(sandbox, clock, ["sendcloud"]).send(message())
    assert other.idempotency_key != result.idempotency_key  # one per logical send


def test_one_key_on_every_retry_and_every_provider(sandbox, clock) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=3)
    result = mailer(sandbox, clock, ["aurorasendcloud", "sendcloud"]).send(message("k-1"))
    assert result.provider == "sendcloud"
    assert [a.outcome for a in result.attempts] == ["failed"] * 3 + ["accepted"]
    assert result.idempotency_key == "k-1"
    assert [row.params["send_request_id"] for row in sandbox["sendcloud"].accepted] == ["k-1"]


def test_a_second_send_of_an_accepted_key_is_replayed_without_a_request(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    first = m.send(message("order-1042"))
    requests = sandbox["cloudmails"].requests
    again = m.send(message("order-1042"))
    assert again.replayed is True and first.replayed is False
    assert (again.provider, again.message_ids) == (first.provider, first.message_ids)
    assert again.attempts == [] and again.idempotency_key == "order-1042"
    assert sandbox["cloudmails"].requests == requests
    assert held(sandbox)["cloudmails"] == 1


def test_the_ledger_replays_across_mailers_sharing_a_store(sandbox, clock, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = mailer(sandbox, clock, ["cloudmails"], store=mailspec.store(url)).send(message("k"))
    again = mailer(sandbox, clock, ["cloudmails"], store=mailspec.store(url)).send(message("k"))
    assert again.replayed and again.message_ids == first.message_ids
    assert held(sandbox)["cloudmails"] == 1


def test_a_key_another_sender_holds_is_not_sent(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    m.ledger.claim("busy", "another-sender", 60.0, clock())
    with pytest.raises(SendInProgress) as caught:
        m.send(message("busy"))
    assert caught.value.idempotency_key == "busy"
    assert caught.value.retry_after == pytest.approx(60.0)
    assert sandbox["cloudmails"].requests == 0


def test_a_definite_failure_gives_the_key_back(sandbox, clock) -> None:
    """Nothing went out (every answer a refusal): the same key may be sent again."""
    sandbox["cloudmails"].faults.queue(Fault.SERVER_ERROR, times=3)
    m = mailer(sandbox, clock, ["cloudmails"])
    with pytest.raises(AllProvidersFailed) as caught:
        m.send(message("retry-me"))
    assert caught.value.ambiguous is False and caught.value.idempotency_key == "retry-me"
    assert m.ledger.lookup("retry-me") is None
    assert m.send(message("retry-me")).replayed is False
    assert held(sandbox)["cloudmails"] == 1


def test_an_ambiguous_key_is_resolved_before_it_is_sent_again(sandbox, clock) -> None:
    """A send that ended ambiguous at CloudMails, which cannot be asked: a later send of
    the key does not go anywhere else either."""
    sandbox["cloudmails"].faults.queue(Fault.DROP_AFTER)
    m = mailer(sandbox, clock, ["cloudmails", "sendcloud"])
    with pytest.raises(AllProvidersFailed) as first:
        m.send(message("maybe"))
    assert first.value.ambiguous
    with pytest.raises(AllProvidersFailed) as again:
        m.send(message("maybe"))
    assert again.value.ambiguous
    assert "cannot be asked" in str(again.value)
    assert held(sandbox) == {"aurorasendcloud": 0, "sendcloud": 0, "cloudmails": 1}
    assert sandbox["sendcloud"].requests == 0


def test_a_dead_senders_key_is_resent_where_the_provider_deduplicates(sandbox, clock) -> None:
    """A sender claimed the key, sent it to SendCloud, and died before it heard back (its
    lease ran out): the next send resolves it by sending the key to SendCloud again,
    which holds the message once, and sends it nowhere else."""
    key = "dead-sender"
    provider = sandbox["sendcloud"].provider()
    provider.send(message(key))  # what the dead sender's request did
    m = mailer(sandbox, clock, ["cloudmails", "sendcloud"])
    m.ledger.claim(key, "dead", 30.0, clock())
    m.ledger.note(key, "dead", "sendcloud", 30.0, clock())
    clock.advance(60)  # its lease has run out
    result = m.send(message(key))
    assert result.provider == "sendcloud" and not result.replayed
    assert [a.provider for a in result.attempts] == ["sendcloud"]
    assert held(sandbox) == {"aurorasendcloud": 0, "sendcloud": 1, "cloudmails": 0}
    assert sandbox["cloudmails"].requests == 0
    recorded = m.ledger.lookup(key)
    assert recorded is not None and type(recorded).__name__ == "Recorded"


def test_a_suspect_that_deduplicates_is_waited_for_when_its_rate_is_used_up(sandbox, clock) -> None:
    """The dead sender's provider is AuroraSendCloud, and other senders on the same store
    have just used up its client-side rate: the next send waits for a token (past
    ``rate_limit_wait``, within the deadline) and resolves the key there, instead of
    giving up ambiguous."""
    key = "dead-sender-rate"
    sandbox["aurorasendcloud"].provider().send(message(key))
    store = MemoryStore(clock=clock)
    m = mailer(sandbox, clock, ["aurorasendcloud", "sendcloud"], store=store, rate_limit_wait=0)
    m.ledger.claim(key, "dead", 30.0, clock())
    m.ledger.note(key, "dead", "aurorasendcloud", 30.0, clock())
    clock.advance(60)
    bucket = TokenBucket(store, "aurorasendcloud", rate_per_minute=3000)
    while bucket.reserve(clock(), 0.0) == 0.0:  # the account's tokens, used up elsewhere
        pass
    before = clock()
    result = m.send(message(key))
    assert result.provider == "aurorasendcloud"
    assert [a.outcome for a in result.attempts] == ["accepted"]
    assert 0 < clock() - before < 1  # a token's wait at 50 a second, not the deadline
    assert held(sandbox) == {"aurorasendcloud": 1, "sendcloud": 0, "cloudmails": 0}


def test_a_dead_senders_key_at_a_provider_that_cannot_be_asked_stops(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["sendcloud", "cloudmails"])
    m.ledger.claim("gone", "dead", 30.0, clock())
    m.ledger.note("gone", "dead", "cloudmails", 30.0, clock())
    clock.advance(60)
    with pytest.raises(AllProvidersFailed) as caught:
        m.send(message("gone"))
    assert caught.value.ambiguous
    assert [(a.provider, type(a.error).__name__) for a in caught.value.attempts] == [
        ("cloudmails", "UnresolvedSend")
    ]
    assert sandbox["sendcloud"].requests == sandbox["cloudmails"].requests == 0
    # the claim stays expired for the next send: still not sent
    claim = m.ledger.claim("gone", "someone", 30.0, clock())
    assert claim.status is ClaimStatus.EXPIRED


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_provider_that_refused_for_certain_is_not_resent_when_resolving(
    sandbox, clock, tmp_path, store
) -> None:
    """AuroraSendCloud refuses for certain (a server error), then SendCloud may have
    taken the message (the connection dropped after it did): the send ends ambiguous.
    Sending the key again resolves it at SendCloud alone; resending it to
    AuroraSendCloud, which deduplicates but never had it, would deliver a second copy."""
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'state.db'}"
    m = mailer(sandbox, clock, ["aurorasendcloud", "sendcloud"], max_attempts=1, store=url)
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR)
    sandbox["sendcloud"].faults.queue(Fault.DROP_AFTER)
    with pytest.raises(AllProvidersFailed) as first:
        m.send(message("refused-then-dropped"))
    assert first.value.ambiguous
    entry = m.ledger.lookup("refused-then-dropped")
    assert entry is not None and entry.tried == ["sendcloud"]
    result = m.send(message("refused-then-dropped"))
    assert result.provider == "sendcloud"
    assert [a.provider for a in result.attempts] == ["sendcloud"]
    assert sandbox["aurorasendcloud"].requests == 1  # the refused one, not a second
    assert held(sandbox) == {"aurorasendcloud": 0, "sendcloud": 1, "cloudmails": 0}


def test_a_dead_sender_noted_a_provider_that_refused_for_certain_only_before_it(
    sandbox, clock, tmp_path
) -> None:
    """On a shared store a provider that refused for certain is crossed off the key's
    record as soon as its turn ends, so a sender dying afterwards leaves only the
    provider it was talking to."""
    m = mailer(
        sandbox,
        clock,
        ["aurorasendcloud", "sendcloud"],
        max_attempts=1,
        store=f"sqlite:///{tmp_path / 'state.db'}",
    )
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR)
    sandbox["sendcloud"].faults.queue(Fault.DROP_AFTER)
    seen: list[list[str]] = []

    def look(attempt: Any) -> None:
        entry = m.ledger.lookup("noted")
        seen.append(list(entry.tried) if entry is not None else [])

    m.on_attempt = look
    with pytest.raises(AllProvidersFailed):
        m.send(message("noted"))
    # after AuroraSendCloud's refusal its note stands until its turn ends; SendCloud's
    # attempt is recorded with AuroraSendCloud already crossed off
    assert seen == [["aurorasendcloud"], ["sendcloud"]]


def test_two_providers_that_may_both_hold_a_key_are_not_resent_to(sandbox, clock) -> None:
    """With on_ambiguous="failover" a send may leave the message maybe at two providers;
    resending the key to either could add a copy, so a later send stops, asking none."""
    sandbox["sendcloud"].faults.queue(Fault.DROP_AFTER)
    sandbox["aurorasendcloud"].faults.queue(Fault.DROP_AFTER)
    names, store = ["sendcloud", "aurorasendcloud"], mailspec.store("memory://")
    failover = mailer(sandbox, clock, names, max_attempts=1, on_ambiguous="failover", store=store)
    with pytest.raises(AllProvidersFailed):
        failover.send(message("twice-maybe"))
    m = mailer(sandbox, clock, names, store=store)
    requests = {name: sandbox[name].requests for name in names}
    with pytest.raises(AllProvidersFailed) as caught:
        m.send(message("twice-maybe"))
    assert caught.value.ambiguous
    assert [type(a.error).__name__ for a in caught.value.attempts] == ["UnresolvedSend"]
    assert {name: sandbox[name].requests for name in names} == requests


def test_a_message_error_leaves_no_claim(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    with pytest.raises(ValidationError):
        m.send(message("bad", cc=["not an address"]))
    assert m.ledger.lookup("bad") is None


@pytest.mark.parametrize("key", ["", "with space", "x" * 129, "naïve"])
def test_a_key_that_no_provider_could_carry_is_a_message_error(sandbox, clock, key) -> None:
    with pytest.raises(ValidationError) as caught:
        mailer(sandbox, clock, ["sendcloud"]).send(message(key))
    assert caught.value.field == "idempotency_key" and not caught.value.provider_rule


def test_send_many_records_every_message(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    results = m.send_many([message(f"batch-{i}") for i in range(3)])
    for i, result in enumerate(results):
        entry = m.ledger.lookup(f"batch-{i}")
        assert entry is not None and type(entry).__name__ == "Recorded"
        kept = msgspec.json.decode(entry.outcome)  # type: ignore[union-attr]
        assert kept["message_ids"] == result.message_ids


def test_a_ledger_in_memory_sees_a_key_only_in_its_own_mailer(sandbox, clock) -> None:
    """Each Mailer's default store is its own: share one to share the ledger."""
    shared = mailspec.store("memory://")
    a = mailer(sandbox, clock, ["cloudmails"], store=shared)
    b = mailer(sandbox, clock, ["cloudmails"], store=shared)
    a.send(message("shared-key"))
    assert b.send(message("shared-key")).replayed
    c = mailer(sandbox, clock, ["cloudmails"])
    assert not c.send(message("shared-key")).replayed  # another ledger: sent again
    assert held(sandbox)["cloudmails"] == 2


def test_without_a_ledger_every_send_goes_out_and_keys_still_travel(sandbox, clock) -> None:
    m = mailer(sandbox, clock, ["cloudmails"], ledger=False)
    assert m.ledger is None
    first, again = m.send(message("k")), m.send(message("k"))
    assert not again.replayed and again.message_ids != first.message_ids
    assert held(sandbox)["cloudmails"] == 2
    result = mailer(sandbox, clock, ["sendcloud"], ledger=False).send(message())
    assert sandbox["sendcloud"].accepted[0].params["send_request_id"] == result.idempotency_key


# --- one key, one message -----------------------------------------------------------------

# each a different message than message(): another recipient, sender, content...
DIFFERENT: dict[str, dict[str, Any]] = {
    "recipient": {"to": "bob@example.org"},
    "another recipient too": {"to": ["ann@example.org", "bob@example.org"]},
    "cc": {"cc": ["carl@example.org"]},
    "bcc": {"bcc": ["dora@example.org"]},
    "reply_to": {"reply_to": "help@example.com"},
    "sender": {"from_email": "sales@example.com"},
    "sender name": {"from_name": "Shop"},
    "subject": {"subject": "Your invoice"},
    "html": {"html": "<p>Thanks again</p>"},
    "text": {"text": "Thanks"},
    "attachment": {"attachments": [Attachment("r.pdf", b"%PDF-1.4", "application/pdf")]},
    "header": {"headers": {"X-Campaign": "spring"}},
    "tag": {"tags": ["receipts"]},
    "metadata": {"metadata": {"order": "1042"}},
    "template": {"template": "receipt", "variables": {"name": "Ann"}, "html": None},
    "recipient variables": {"recipient_variables": {"ann@example.org": {"name": "Ann"}}},
    "recipient name": {"display_names": {"ann@example.org": "Ann Smith"}},
    "scheduled": {"send_at": datetime(2027, 1, 4, 9, 0, tzinfo=UTC)},
    "open tracking": {"track_opens": True},
    "click tracking": {"track_clicks": True},
    "provider options": {"provider_options": {"cloudmails": {"priority": "high"}}},
}


@pytest.mark.parametrize("change", DIFFERENT.values(), ids=DIFFERENT.keys())
def test_a_key_used_for_another_message_is_refused_without_a_request(
    sandbox, clock, change
) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    first = m.send(message("order-1042"))
    recorded = m.ledger.lookup("order-1042")
    with pytest.raises(IdempotencyConflict) as caught:
        m.send(message("order-1042", **change))
    error = caught.value
    assert isinstance(error, ConflictError) and isinstance(error, ProviderError)
    assert error.idempotency_key == "order-1042" and error.provider is None
    assert error.retryable is False and error.ambiguous is False
    assert "'order-1042' was already used for a different message" in str(error)
    copy = pickle.loads(pickle.dumps(error))  # as a task queue's result backend keeps it
    assert (type(copy), copy.idempotency_key, str(copy)) == (type(error), "order-1042", str(error))
    assert sandbox["cloudmails"].requests == 1  # the first message's, no other
    assert m.ledger.lookup("order-1042") == recorded
    again = m.send(message("order-1042"))  # the first message is still replayed
    assert again.replayed and again.message_ids == first.message_ids


def test_the_same_message_however_it_is_written_is_replayed(sandbox, clock) -> None:
    """Recipients and tags in another order, mappings' keys in another order, one
    address or a list of one, a trip through a Celery payload: the same message."""
    fields: dict[str, Any] = {
        "to": ["ann@example.org", "bob@example.org"],
        "tags": ["a", "b"],
        "headers": {"X-A": "1", "X-B": "2"},
        "reply_to": "help@example.com",
        "attachments": [Attachment("r.pdf", b"%PDF\x00\xff", "application/pdf")],
    }
    reordered = {
        "to": ["bob@example.org", "ann@example.org"],
        "tags": ["b", "a"],
        "headers": {"X-B": "2", "X-A": "1"},
        "reply_to": ["help@example.com"],
    }
    original = message("k-same", **fields)
    through_celery = msgspec.json.decode(msgspec.json.encode(message_payload(original)))
    m = mailer(sandbox, clock, ["sendcloud"])
    first = m.send(original)
    for same in (
        message("k-same", **{**fields, **reordered}),
        message_from_payload(through_celery),
    ):
        again = m.send(same)
        assert again.replayed and again.message_ids == first.message_ids
    assert sandbox["sendcloud"].requests == 1


def test_the_fingerprint_covers_every_field_but_the_key_and_is_stable() -> None:
    plain = message()
    assert fingerprint(plain) == fingerprint(message("any-key"))
    for change in DIFFERENT.values():
        assert fingerprint(message(**change)) != fingerprint(plain), change
    covered = {name for change in DIFFERENT.values() for name in change}
    assert covered | {"idempotency_key"} == set(MESSAGE_FIELDS)  # a new field: add it above
    # the same digest in every process, machine and Python version: a change to how it
    # is computed must come with a new scheme (the ledger then takes old ones as unknown)
    assert fingerprint(plain) == (
        "m1:b06ca2ba10a3a47927b3d630a9e33703d232b39cfc03fa89612aab3838eb4c43"
    )


def test_a_key_another_sender_holds_for_another_message_conflicts(sandbox, clock) -> None:
    """Refused at once, not asked to wait (SendInProgress): waiting would not help."""
    m = mailer(sandbox, clock, ["cloudmails"])
    m.ledger.claim("busy", "another-sender", 60.0, clock(), fingerprint(message("busy")))
    with pytest.raises(IdempotencyConflict):
        m.send(message("busy", to="bob@example.org"))
    with pytest.raises(SendInProgress):
        m.send(message("busy"))
    assert sandbox["cloudmails"].requests == 0


def test_a_record_without_a_fingerprint_is_replayed_as_before(sandbox, clock) -> None:
    """An outcome recorded by the previous version, which kept no fingerprint: what it
    was for is unknown, so it is replayed, whatever the message."""
    m = mailer(sandbox, clock, ["cloudmails"])
    m.ledger.record(
        "old", "previous-version", b'{"provider":"cloudmails","message_ids":["m-1"]}', 1.0
    )
    result = m.send(message("old", to="bob@example.org"))
    assert result.replayed and result.message_ids == ["m-1"]
    assert sandbox["cloudmails"].requests == 0


@pytest.mark.parametrize("concurrency", [1, 4])
def test_send_many_refuses_a_key_given_twice_for_two_messages(sandbox, clock, concurrency) -> None:
    m = mailer(sandbox, clock, ["cloudmails"])
    batch = [
        message("twice"),
        message("other"),
        message("twice", to="bob@example.org"),
        message("twice"),
    ]
    outcomes = m.send_many(batch, concurrency=concurrency)
    assert [type(o).__name__ for o in outcomes[:2]] == ["SendResult", "SendResult"]
    assert isinstance(outcomes[2], IdempotencyConflict)
    # the repeat of the first message: replayed, or told to wait while it is sent
    assert isinstance(outcomes[3], SendInProgress) or outcomes[3].replayed
    assert [row.recipient for row in sandbox["cloudmails"].accepted] == ["ann@example.org"] * 2


def test_an_async_mailer_refuses_a_key_used_for_another_message(sandbox) -> None:
    async def both() -> Any:
        async with mailspec.AsyncMailer([sandbox["cloudmails"].provider()]) as m:
            await m.send(message("async-key"))
            return await m.send_many([message("async-key", html="<p>Other</p>")])

    (outcome,) = asyncio.run(both())
    assert isinstance(outcome, IdempotencyConflict)
    assert sandbox["cloudmails"].requests == 1
