"""A Redis store refuses a server that may lose the ledger's records (one that evicts
them, one that keeps nothing across a restart) unless told otherwise, reads what it
can where CONFIG is disabled, and rides out a short outage: each test on redis-servers
of its own, started with the settings it is about."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stores_support import RedisServer, free_port

import mailspec
from mailspec import Mailer, Message, StoreError
from mailspec.sandbox import SandboxServer
from mailspec.stores.redis import RedisStore

PERSISTENT = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
VOLATILE = ["--save", "", "--appendonly", "no"]  # keeps nothing across a restart
NO_CONFIG = ["--rename-command", "CONFIG", ""]  # as managed Redis services do


def evicting(policy: str) -> list[str]:
    return [*PERSISTENT, "--maxmemory", "2mb", "--maxmemory-policy", policy]


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start a redis-server with the given settings (each in a folder of its own)."""
    started: list[RedisServer] = []

    def start(*settings: str) -> RedisServer:
        folder = tmp_path / f"redis{len(started)}"
        folder.mkdir()
        server = RedisServer(folder, settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("cloudmails") as server:  # no deduplication: a resend is a request
        yield server


def message(i: int = 0) -> Message:
    return Message(
        from_email="shop@example.com",
        to="ann@example.org",
        subject=f"receipt {i}",
        html="<p>Thanks</p>",
        idempotency_key=f"receipt-{i}",
    )


def refusal(url: str, sandbox: SandboxServer) -> str:
    """What a send through a store on ``url`` is refused with; no request was made."""
    mailer = Mailer([sandbox.provider()], store=url)
    with pytest.raises(StoreError) as caught:
        mailer.send(message())
    assert sandbox.requests == 0  # refused before anything went out
    text = str(caught.value)
    assert text.startswith("redis store redis://127.0.0.1:")
    assert "add ?durability=warn (log this and go on) or ?durability=off" in text
    return text


# --- the check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "evicts"),
    [
        ("volatile-lru", "keys that carry an expiry, as every ledger record does"),
        ("volatile-ttl", "keys that carry an expiry, as every ledger record does"),
        ("allkeys-lru", "any key"),
    ],
)
def test_a_server_that_evicts_is_refused_before_any_request(
    start_redis, sandbox, policy, evicts
) -> None:
    server = start_redis(*evicting(policy))
    text = refusal(server.url(), sandbox)
    assert f"maxmemory-policy is {policy} (maxmemory 2097152 bytes)" in text
    assert f"Redis deletes {evicts}" in text
    assert "set maxmemory-policy noeviction" in text
    assert "persist" not in text  # it has an append-only file


def test_a_server_that_does_not_persist_is_refused(start_redis, sandbox) -> None:
    server = start_redis(*VOLATILE)
    text = refusal(server.url(), sandbox)
    assert "it does not persist (appendonly no, save '')" in text
    assert "set appendonly yes with appendfsync everysec" in text
    assert "maxmemory" not in text


def test_a_refused_server_set_right_is_used_without_a_new_store(start_redis) -> None:
    server = start_redis(*VOLATILE)
    store = mailspec.store(server.url())
    with pytest.raises(StoreError, match="does not persist"):
        store.get("k")
    server.client().config_set("save", "60 1")  # RDB snapshots from now on
    assert store.compare_and_set("k", None, b"v") and store.get("k") == b"v"


@pytest.mark.parametrize(
    "settings",
    [
        PERSISTENT,
        ["--save", "60 1", "--appendonly", "no"],  # RDB snapshots
        [*PERSISTENT, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction"],
        [*PERSISTENT, "--maxmemory", "0", "--maxmemory-policy", "allkeys-lru"],  # no limit
    ],
    ids=["aof", "rdb", "noeviction", "no-maxmemory"],
)
def test_a_server_that_keeps_records_is_used_without_a_word(
    start_redis, sandbox, caplog, settings
) -> None:
    caplog.set_level(logging.DEBUG, logger="mailspec.stores")
    server = start_redis(*settings)
    mailer = Mailer([sandbox.provider()], store=server.url())
    assert mailer.send(message()).provider == "cloudmails"
    assert mailer.send(message()).replayed
    assert caplog.records == []


def test_durability_warn_logs_each_problem_once_and_uses_the_server(
    start_redis, sandbox, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="mailspec.stores")
    server = start_redis("--save", "", "--appendonly", "no", *evicting("volatile-lru")[6:])
    mailer = Mailer([sandbox.provider()], store=server.url(durability="warn"))
    for i in range(3):
        assert mailer.send(message(i)).provider == "cloudmails"
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(said) == 2, said
    assert all(level == logging.WARNING for level, _ in said)
    assert "(durability=warn): maxmemory-policy is volatile-lru" in said[0][1]
    assert "(durability=warn): it does not persist" in said[1][1]


def test_durability_off_neither_checks_nor_logs(start_redis, sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="mailspec.stores")
    server = start_redis(*VOLATILE, *NO_CONFIG)
    mailer = Mailer([sandbox.provider()], store=server.url(durability="off"))
    assert mailer.send(message()).provider == "cloudmails"
    assert caplog.records == []


# --- where CONFIG cannot be used ------------------------------------------------------------


def test_without_config_the_policy_and_aof_are_read_from_info(start_redis, sandbox) -> None:
    kept = start_redis(*PERSISTENT, *NO_CONFIG)
    assert mailspec.store(kept.url()).compare_and_set("k", None, b"v")
    evicts = start_redis(*evicting("volatile-lru"), *NO_CONFIG)
    assert "maxmemory-policy is volatile-lru" in refusal(evicts.url(), sandbox)


def test_without_config_a_server_without_aof_is_refused_as_unknown(start_redis, sandbox) -> None:
    # INFO shows whether AOF is on, not whether snapshots are scheduled: not proof of loss,
    # and no proof of keeping either
    server = start_redis(*VOLATILE, *NO_CONFIG)
    text = refusal(server.url(), sandbox)
    assert "whether it persists cannot be read (appendonly no, save schedule unknown)" in text


def test_a_user_allowed_neither_config_nor_info_is_refused_unless_told(
    start_redis, sandbox, caplog
) -> None:
    server = start_redis(*PERSISTENT)
    server.client().execute_command(
        "ACL", "SETUSER", "app", "on", ">app-pass-1", "~*", "+@all", "-config", "-info"
    )
    url = f"redis://app:app-pass-1@127.0.0.1:{server.port}/0"
    text = refusal(url, sandbox)
    assert "its eviction policy and persistence cannot be read (CONFIG GET: " in text
    assert "allow this user CONFIG GET or INFO" in text
    caplog.set_level(logging.WARNING, logger="mailspec.stores")
    mailer = Mailer([sandbox.provider()], store=url + "?durability=warn")
    assert mailer.send(message()).provider == "cloudmails"
    assert "cannot be read" in caplog.text


# --- a short outage ---------------------------------------------------------------------------


def test_a_one_second_outage_fails_no_send_and_duplicates_none(start_redis, sandbox) -> None:
    server = start_redis(*PERSISTENT)
    mailer = Mailer([sandbox.provider()], store=server.url(), rate_limit=False)
    threads = 4
    sent: list[int] = []
    failed: list[BaseException] = []
    slow: list[float] = []  # sends that waited for the server to come back
    done = threading.Event()

    def keep_sending(first: int) -> None:
        for i in itertools.count(first, threads):  # until told to stop, 60 s at most
            if done.is_set() or i > 60_000:
                return
            started = time.monotonic()
            try:
                mailer.send(message(i))
                sent.append(i)
            except Exception as exc:
                failed.append(exc)
            if time.monotonic() - started > 0.5:
                slow.append(time.monotonic() - started)
            time.sleep(0.005)

    workers = [threading.Thread(target=keep_sending, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    server.stop()  # down for a second, then back with what it kept
    time.sleep(1.0)
    server.restart()
    time.sleep(0.3)
    done.set()
    for worker in workers:
        worker.join(timeout=60)
    assert failed == []
    assert len(slow) >= 1  # sends did meet the outage, and rode it out
    subjects = [row.params["subject"] for row in sandbox.accepted]
    assert len(subjects) == len(sent) == len(set(subjects))  # each once
    # and the ledger kept them across the restart: a resend replays, with no request
    before = sandbox.requests
    assert all(mailer.send(message(i)).replayed for i in sent[::10])
    assert sandbox.requests == before


def test_a_write_whose_answer_was_lost_answers_as_it_ran(start_redis) -> None:
    """The server stalls (DEBUG SLEEP) with the write in hand, past the store's timeout:
    the write runs when it wakes, but its answer has nobody to go to. The retry, a
    repeat, finds the key holding what it writes and answers True."""
    server = start_redis(*PERSISTENT, "--enable-debug-command", "local")
    store = RedisStore("127.0.0.1", server.port, timeout=0.2)
    # connected, checked, and the script loaded before the stall (a script the server
    # does not know yet would be refused when it wakes, and not run)
    assert store.compare_and_set("before", None, b"x")
    stall = threading.Thread(target=server.client().execute_command, args=("DEBUG", "SLEEP", "1"))
    stall.start()
    time.sleep(0.2)  # the server is asleep now
    assert store.compare_and_set("k", None, b"mine")
    stall.join(timeout=10)
    assert server.client().get("mailspec:k") == b"mine"
    assert not store.compare_and_set("k", None, b"other")  # a real conflict still loses


def test_a_server_out_of_reach_is_retried_for_retry_seconds_and_no_longer_than_the_send(
    sandbox,
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    store = mailspec.store(nobody + "?retry=0.6")
    started = time.monotonic()
    with pytest.raises(StoreError, match="ConnectionError"):
        store.get("k")
    assert 0.6 <= time.monotonic() - started < 2.0  # tried again and again, then gave up
    mailer = Mailer([sandbox.provider()], store=nobody + "?retry=30", deadline=1.0)
    started = time.monotonic()
    with pytest.raises(StoreError):
        mailer.send(message())
    assert 0.95 <= time.monotonic() - started < 2.5  # the send's deadline, not 30 s
    assert sandbox.requests == 0
