"""mailspec.store(url): which store each URL opens, one-line errors for the URLs that are
none, and a Redis password that never shows — not in a repr, an error or a log record."""

from __future__ import annotations

import logging
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from stores_support import free_port

import mailspec
from mailspec import Mailer, StoreError, ValidationError
from mailspec.mailer import MemoryStore
from mailspec.stores.redis import RedisStore
from mailspec.stores.sqlite import SqliteStore

SECRET = "hunter2-Zq9-secret"


def test_memory_url_opens_a_fresh_memory_store() -> None:
    one, two = mailspec.store("memory://"), mailspec.store("MEMORY://")
    assert isinstance(one, MemoryStore) and isinstance(two, MemoryStore)
    assert one is not two
    assert not one.shared
    assert one.max_records == 10_000
    assert mailspec.store("memory://?max_records=50").max_records == 50


def test_sqlite_url_paths_read_as_sqlalchemy_reads_them(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = mailspec.store("sqlite:///state.db")  # three slashes: relative
    assert isinstance(relative, SqliteStore) and relative.shared
    assert relative.path == str(tmp_path / "state.db")
    assert (tmp_path / "state.db").exists()
    absolute = mailspec.store(f"sqlite:///{tmp_path}/abs.db")  # four: absolute
    assert absolute.path == str(tmp_path / "abs.db")
    spaced = mailspec.store("sqlite:///with%20space.db?timeout=0.5")
    assert spaced.path == str(tmp_path / "with space.db") and spaced.timeout == 0.5
    assert repr(absolute) == f"<SqliteStore {str(tmp_path / 'abs.db')!r}>"


def test_redis_url_parts(redis_server) -> None:
    store = mailspec.store(f"redis://127.0.0.1:{redis_server.port}/3?timeout=2.5&prefix=app:")
    assert isinstance(store, RedisStore) and store.shared
    assert (store.host, store.port, store.db, store.timeout, store.prefix) == (
        "127.0.0.1",
        redis_server.port,
        3,
        2.5,
        "app:",
    )
    assert repr(store) == f"<RedisStore redis://127.0.0.1:{redis_server.port}/3 prefix='app:'>"
    assert store.compare_and_set("k", None, b"v")
    assert redis_server.client(db=3).get("app:k") == b"v"
    assert redis_server.client(db=0).get("app:k") is None
    three = mailspec.store(f"redis://127.0.0.1:{redis_server.port}/3?prefix=app:")
    assert three.get("k") == b"v"


def test_redis_url_defaults() -> None:
    store = mailspec.store("redis://cache.internal")
    assert (store.host, store.port, store.db, store.prefix, store.tls) == (
        "cache.internal",
        6379,
        0,
        "mailspec:",
        False,
    )
    assert (store.durability, store.retry) == ("require", 5.0)
    chosen = mailspec.store("redis://cache.internal/0?durability=warn&retry=0")
    assert (chosen.durability, chosen.retry) == ("warn", 0.0)
    tls = mailspec.store("rediss://[::1]:6380/")
    assert tls.tls and repr(tls) == "<RedisStore rediss://[::1]:6380/0 prefix='mailspec:'>"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root:hunter2-Zq9-secret@db/x", "unknown store scheme 'mysql'"),
        ("hunter2-Zq9-secret", "not a store URL"),
        ("user:hunter2-Zq9-secret@host", "not a store URL"),
        ("hunter2-Zq9-secret://x", "unknown store scheme;"),  # not echoed: too long
        ("memory://somewhere", "memory:// takes no host or path"),
        ("memory://?x=1", "unknown memory:// option 'x'; expected max_records"),
        ("memory://?max_records=0", "'max_records' must be a whole number from 1"),
        ("memory://?max_records=lots", "'max_records' must be a whole number from 1"),
        ("sqlite://", "missing path"),
        ("sqlite:///", "missing path"),
        ("sqlite://host/x.db", "takes no host"),
        ("sqlite:///:memory:", "use memory://"),
        ("sqlite:///folder/", "names a folder"),
        ("sqlite:///x\ud800.db", "not valid text"),  # SQLite cannot open it: no path
        ("sqlite:///x.db?timeout=soon", "'timeout' must be a positive number"),
        ("sqlite:///x.db?timeout=0", "'timeout' must be a positive number"),
        ("sqlite:///x.db?busy=1", "unknown sqlite:// option 'busy'; expected timeout"),
        ("sqlite:///x.db#frag", "takes no #fragment"),
        ("redis://", "missing host"),
        ("redis://:hunter2-Zq9-secret@", "missing host"),
        ("redis://:hunter2-Zq9-secret@h:abc/0", "the port must be a number from 1 to 65535"),
        ("redis://:hunter2-Zq9-secret@h:0/0", "the port must be a number from 1 to 65535"),
        ("redis://:hunter2-Zq9-secret@h:70000/0", "the port must be a number from 1 to 65535"),
        ("redis://:hunter2-Zq9-secret@[::1/0", "cannot be read"),
        ("redis://:hunter2-Zq9-secret@h/zero", "the database (the path after the host)"),
        ("redis://:hunter2-Zq9-secret@h/0/1", "the database (the path after the host)"),
        ("redis://alice@h/0", "a user needs a password"),
        ("redis://h/0?password=hunter2-Zq9-secret", "unknown redis:// option 'password'"),
        ("redis://h/0?hunter2-Zq9-secret=1", "unknown redis:// option an option;"),
        ("redis://h/0?timeout=1&timeout=2", "'timeout' is given twice"),
        ("redis://h/0?timeout", "options cannot be read"),
        ("redis://:hunter2-Zq9-secret@h/0?timeout=-1", "'timeout' must be a positive number"),
        ("redis://h/0?durability=maybe", "'durability' must be require, warn, off"),
        ("redis://h/0?durability=", "'durability' must be require, warn, off"),
        ("redis://h/0?retry=-1", "'retry' must be a number of seconds (0: never)"),
        ("redis://h/0?retry=inf", "'retry' must be a number of seconds (0: never)"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_problem(url, says) -> None:
    with pytest.raises(ValidationError) as caught:
        mailspec.store(url)
    text = str(caught.value)
    assert says in text, text
    assert caught.value.field == "store"
    assert "\n" not in text
    assert SECRET not in text and "hunter2" not in text
    # no chained error shows the URL either (urllib's port error quotes the port)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    with pytest.raises(ValidationError) as via_mailer:  # the Mailer takes URLs too
        Mailer([mailspec.provider("aurorasendcloud", api_user="u", api_key="k")], store=url)
    assert str(via_mailer.value) == text


@pytest.mark.parametrize("url", [None, 42, b"memory://", Path("x.db")])
def test_a_url_that_is_not_a_string(url) -> None:
    with pytest.raises(ValidationError, match="expected a store URL string"):
        mailspec.store(url)


def test_a_sqlite_file_that_cannot_be_opened_is_a_store_error(tmp_path) -> None:
    with pytest.raises(StoreError) as caught:
        mailspec.store(f"sqlite:///{tmp_path}/no/such/folder/x.db")
    assert "does its folder exist" in str(caught.value)
    assert str(caught.value).startswith(f"sqlite store {tmp_path}/no/such/folder/x.db: ")
    garbage = tmp_path / "not-a-db.db"
    garbage.write_bytes(b"this is no sqlite file " * 100)
    with pytest.raises(StoreError, match="not a database"):
        mailspec.store(f"sqlite:///{garbage}")


def test_without_redis_py_a_redis_url_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the extra were not installed
    monkeypatch.delitem(sys.modules, "mailspec.stores.redis", raising=False)
    monkeypatch.delattr(mailspec.stores, "redis", raising=False)
    with pytest.raises(ValidationError) as caught:
        mailspec.store(f"redis://:{SECRET}@127.0.0.1:6379/0")
    assert str(caught.value) == "store: redis:// needs redis-py: pip install 'mailspec[redis]'"


def test_import_mailspec_loads_no_store_backend() -> None:
    probe = (
        "import sys, mailspec\n"
        "mailspec.store('memory://')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('redis', 'sqlite3', '_sqlite3') or m in ('mailspec.stores.sqlite', "
        "'mailspec.stores.redis'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == ""
    assert "store" in mailspec.__all__ and "StoreError" in mailspec.__all__


# --- the password never shows -------------------------------------------------------------


def everything_shown(error: BaseException) -> str:
    """An error as a traceback prints it: its text, its chain, every frame's line and
    variables (as error reports such as Django's debug page show them)."""
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(shown.format())


def test_redis_password_is_in_no_repr_or_error(redis_server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = redis_server.client()
    client.execute_command("ACL", "SETUSER", "alice", "on", f">{SECRET}", "~*", "+@all")
    good = mailspec.store(f"redis://alice:{SECRET}@127.0.0.1:{redis_server.port}/0?prefix=pw:")
    assert good.compare_and_set("k", None, b"v") and good.get("k") == b"v"  # it logs in
    wrong = mailspec.store(f"redis://alice:wrong-{SECRET}@127.0.0.1:{redis_server.port}/0")
    with pytest.raises(StoreError) as refused:
        wrong.get("k")
    assert "AuthenticationError" in str(refused.value)
    unreachable = mailspec.store(f"redis://:{SECRET}@127.0.0.1:{free_port()}/0?timeout=0.5&retry=0")
    with pytest.raises(StoreError) as down:
        unreachable.compare_and_set("k", None, b"v")
    assert "ConnectionError" in str(down.value)
    assert str(down.value).startswith(f"redis store redis://127.0.0.1:{unreachable.port}/0: ")
    shown = [
        repr(good),
        repr(wrong),
        str(good),
        repr(vars(good)),
        repr(good._client),
        repr(good._client.connection_pool.connection_kwargs),
        everything_shown(refused.value),
        everything_shown(down.value),
        caplog.text,
    ]
    for text in shown:
        assert SECRET not in text, text
    assert refused.value.store == f"redis store {wrong.where}"


def test_a_mailer_logs_a_failing_redis_store_without_its_password(redis_server, caplog) -> None:
    """The store's failure after a request is a WARNING on mailspec.mailer: no password."""
    from mailspec.sandbox import SandboxServer

    caplog.set_level(logging.DEBUG)
    with SandboxServer("aurorasendcloud") as server:
        mailer = Mailer(
            [server.provider()],
            store=f"redis://:{SECRET}@127.0.0.1:{free_port()}/0?timeout=0.5&retry=0",
        )
        with pytest.raises(StoreError) as caught:
            mailer.send(
                mailspec.Message(
                    from_email="a@example.com", to="b@example.org", subject="s", html="h"
                )
            )
        assert server.requests == 0  # it failed before any request: nothing went out
    assert SECRET not in everything_shown(caught.value)
    assert SECRET not in caplog.text
    assert SECRET not in repr(mailer) + repr(mailer.store)


def test_redis_tls_store_holds_a_tls_connection_setting() -> None:
    from redis.connection import SSLConnection

    store = mailspec.store(f"rediss://:{SECRET}@redis.example:6380/1")
    pool = store._client.connection_pool
    assert pool.connection_class is SSLConnection
    # the certificate and the host name are checked, against the system's CAs
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
    assert pool.connection_kwargs["ssl_check_hostname"] is True
    assert SECRET not in repr(pool) + repr(pool.connection_kwargs)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "5"])
def test_stores_built_directly_check_their_timeout(tmp_path, timeout) -> None:
    with pytest.raises(ValidationError, match="timeout: "):
        SqliteStore(tmp_path / "x.db", timeout=timeout)
    with pytest.raises(ValidationError, match="timeout: "):
        RedisStore("127.0.0.1", timeout=timeout)
    assert not (tmp_path / "x.db").exists()  # refused before the file was made
