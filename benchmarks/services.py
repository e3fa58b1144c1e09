"""Real servers and worker processes for the tests and the soaks: a ``redis-server`` of
our own on 127.0.0.1 and a free port, and Celery worker processes
(``celery -A benchmarks.celery_app worker --pool solo``) on it. Each start waits a
bounded time for readiness and says why it failed; each stop kills what it started.
Project tooling beside the benchmarks, not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
REDIS_MISSING = "redis-server not found: install it (apt-get install redis-server) or run .ci/run"
# one task at a time per worker process, and no chatter between workers
WORKER_OPTIONS = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]


class ServiceError(RuntimeError):
    """A server or worker that could not be started, with what it printed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# what a Redis store must be run with for exactly-once (mailspec.stores.redis checks it):
# an append-only file, written to disk every second, and no eviction (the default)
PERSISTENT = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")


class RedisServer:
    """One ``redis-server`` process of our own, on 127.0.0.1 and a free port, keeping
    its data in ``directory`` (``settings``: its command-line settings beyond port and
    folder, by default an append-only file)."""

    def __init__(self, directory: Path, settings: Sequence[str] = PERSISTENT) -> None:
        self.directory = directory
        self.settings = list(settings)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    def start(self) -> RedisServer:
        for _ in range(3):  # a free port may be taken between our probe and its bind
            if self._launch(free_port()):
                return self
        raise self._failed()

    def restart(self) -> RedisServer:
        """Stop the server (as a shutdown does: the append-only file is written) and
        start it again on the same port, with what it kept."""
        self.stop()
        if not self._launch(self.port):
            raise self._failed()
        return self

    def _launch(self, port: int) -> bool:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(REDIS_MISSING)
        self.port = port
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    *("--port", str(port), "--bind", "127.0.0.1"),
                    *("--dir", str(self.directory), *self.settings),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if self._answers_ping(deadline=time.monotonic() + 15):
            return True
        self.stop()
        return False

    def _failed(self) -> ServiceError:
        log_tail = self.log.read_text(errors="replace")[-2000:]
        return ServiceError(f"redis-server did not answer PING on 127.0.0.1:\n{log_tail}")

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
        """A plain redis-py client, to look at what was written."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5.0)

    def url(self, *, prefix: str | None = None, db: int = 0, **options: str) -> str:
        """The server's store URL, with ``prefix`` and any other options."""
        if prefix is not None:
            options = {"prefix": prefix, **options}
        query = "&".join(f"{name}={value}" for name, value in options.items())
        return f"redis://127.0.0.1:{self.port}/{db}{'?' if query else ''}{query}"

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


class CeleryWorkers:
    """Worker processes of :mod:`benchmarks.celery_app` on one redis-server: the broker
    in db 0, results in db 1, the Mailer's store in db 2. :meth:`start` adds a worker,
    :meth:`kill` SIGKILLs one; ``send`` is the task, for queueing from this process."""

    def __init__(
        self,
        server: RedisServer,
        logs: Path,
        providers: list[str],
        *,
        visibility: float,
        deadline: float,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        from celery import Celery

        import mailspec.celery

        server.client(0).flushall()
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "TEST_BROKER": server.url(db=0),
            "TEST_BACKEND": server.url(db=1),
            "TEST_VISIBILITY": str(visibility),
            "TEST_DEADLINE": str(deadline),
            "MAILSPEC_PROVIDERS": " ".join(providers),
            "MAILSPEC_STORE": server.url(db=2),
            **(extra_env or {}),
        }
        self.store_url = self.env["MAILSPEC_STORE"]
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.app = Celery("mailspec-workers", broker=self.env["TEST_BROKER"])
        self.app.conf.update(
            result_backend=self.env["TEST_BACKEND"],
            task_serializer="json",
            result_serializer="json",
            accept_content=["json"],
        )
        # the same task on the sending side: queued by name, never run here
        self.send = mailspec.celery.send_task(self.app)
        self._logs: list[Path] = []

    def start(self, *, wait: bool = True) -> subprocess.Popen[bytes]:
        number = len(self.processes) + 1
        log = self.logs / f"worker{number}.log"
        self._logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "celery", "-A", "benchmarks.celery_app", "worker"),
                    *WORKER_OPTIONS,
                    *("-n", f"w{number}@localhost", "-l", "INFO"),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.append(process)
        if wait:
            self.wait_ready(process)
        return process

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        log = self._logs[self.processes.index(process)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"a worker exited at start:\n{log.read_text()[-3000:]}")
            if b" ready." in log.read_bytes():
                return
            time.sleep(0.1)
        raise ServiceError(
            f"a worker was not ready within {timeout:.0f} s:\n{log.read_text()[-3000:]}"
        )

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self._logs)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
        self.app.close()
