"""A ``redis-server`` of the tests' own, on 127.0.0.1 and a free port, with a temp dir:
started once per session by the ``redis_server`` fixture (the store and Celery tests
use it), stopped at the end. A machine without redis-server fails these tests, with the
way to get it, rather than skipping them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_MISSING = "redis-server not found: install it (apt-get install redis-server) or run .ci/run"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RedisServer:
    """One ``redis-server`` process of our own, on 127.0.0.1 and a free port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(REDIS_MISSING, pytrace=False)
        for _ in range(3):  # a free port may be taken between our probe and its bind
            self.port = free_port()
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(self.directory),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            if self._answers_ping(deadline=time.monotonic() + 15):
                return self
            self.stop()
        log_tail = self.log.read_text(errors="replace")[-2000:]
        pytest.fail(f"redis-server did not answer PING on 127.0.0.1:\n{log_tail}", pytrace=False)

    def _answers_ping(self, deadline: float) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0)
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    return False  # it exited: the port was taken, say
                try:
                    if client.ping():
                        return True
                except redis.RedisError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def client(self, db: int = 0) -> redis.Redis:
        """A plain redis-py client, to look at what the store wrote."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5.0)

    def url(self, *, prefix: str | None = None, db: int = 0) -> str:
        query = f"?prefix={prefix}" if prefix is not None else ""
        return f"redis://127.0.0.1:{self.port}/{db}{query}"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, mid-whatever."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()
