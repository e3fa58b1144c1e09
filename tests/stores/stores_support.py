"""The stores under test, for real: an in-process MemoryStore, a SQLite file in a temp
folder, and a ``redis-server`` of our own on 127.0.0.1 (started once per session on a
free port, with an append-only file as a Redis store must have, stopped at the end).

Only time and randomness are faked (:class:`FakeClock`, :class:`TopRandom`); the stores,
the Mailer, the sandbox and the wire are the real ones.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis_support import REDIS_MISSING as REDIS_MISSING
from redis_support import RedisServer as RedisServer
from redis_support import free_port as free_port
from redis_support import redis_server as redis_server
from time_support import FakeClock as _FakeClock
from time_support import TopRandom as TopRandom  # for the tests that import it from here

import mailspec
from mailspec.mailer import StateStore


class FakeClock(_FakeClock):
    """The tests' clock, started at a wall-clock time, as a shared store's users read."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        super().__init__(start)


BACKENDS = ["memory", "sqlite", "redis"]
SHARED_BACKENDS = ["sqlite", "redis"]  # seen by other processes
WORKER = Path(__file__).resolve().parent / "store_worker.py"


@dataclass
class Backend:
    """One store under test: ``url`` names a fresh, empty one (a new SQLite file, a
    unique Redis key prefix); :meth:`open` gives a handle on it — for memory the one
    instance, else a new connection to the same data, as another process would have."""

    name: str
    url: str
    redis_server: RedisServer | None = None
    prefix: str = ""
    _memory: StateStore | None = None
    _opened: list[Any] = field(default_factory=list)

    def open(self) -> StateStore:
        if self.name == "memory":
            if self._memory is None:
                self._memory = mailspec.store(self.url)
            return self._memory
        store = mailspec.store(self.url)
        self._opened.append(store)
        return store

    def close(self) -> None:
        for store in self._opened:
            store.close()


def make_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    if name == "memory":
        return Backend(name, "memory://")
    if name == "sqlite":
        return Backend(name, f"sqlite:///{tmp_path / 'state.db'}")
    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    return Backend(name, server.url(prefix=prefix), redis_server=server, prefix=prefix)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = make_backend(request.param, tmp_path, request)
    yield made
    made.close()


@pytest.fixture(params=SHARED_BACKENDS)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = make_backend(request.param, tmp_path, request)
    yield made
    made.close()


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` on ``count`` threads started together; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish in 120 s"
    if errors:
        raise errors[0]


class Workers:
    """Real processes running ``store_worker.py``: started together (each prints
    ``ready`` and waits for a go file), then waited for, each with a deadline."""

    def __init__(self, directory: Path) -> None:
        self.go = directory / f"go-{uuid.uuid4().hex[:8]}"
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), "--go", str(self.go), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.processes.append(process)
        return process

    def release(self) -> None:
        """Wait until every worker is ready, then let them all go at once."""
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()  # the worker gives up by itself after 60 s
            if line.strip() != "ready":
                _, err = process.communicate(timeout=60)
                pytest.fail(f"a worker did not get ready: {line!r}\n{err}")
        self.go.touch()

    def wait(self, timeout: float = 120) -> list[str]:
        """Every worker's output, once all exited 0."""
        outputs = []
        for process in self.processes:
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate(timeout=10)
                pytest.fail(f"a worker ran over {timeout} s:\n{err}")
            assert process.returncode == 0, err
            outputs.append(out)
        return outputs

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
