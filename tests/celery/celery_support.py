"""Real Celery worker processes for the tests (``celery -A celery_app worker --pool
solo``), started with a bounded wait for readiness and killed at the end; the broker,
result backend and store are databases of the tests' redis-server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from redis_support import RedisServer

import mailspec.celery

HERE = Path(__file__).resolve().parent
VISIBILITY = 2.0  # seconds before the broker hands a dead worker's task to another
DEADLINE = 3.0  # of each send; its claim lease is a second longer
# one task at a time, and no chatter between workers: each is on its own
WORKER_OPTIONS = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]


class Workers:
    """Worker processes on one broker; :meth:`start` adds one, :meth:`kill` SIGKILLs one."""

    def __init__(self, server: RedisServer, tmp: Path, providers: list[str]) -> None:
        server.client(0).flushall()
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
            "TEST_BROKER": server.url(db=0),
            "TEST_BACKEND": server.url(db=1),
            "TEST_VISIBILITY": str(VISIBILITY),
            "TEST_DEADLINE": str(DEADLINE),
            "MAILSPEC_PROVIDERS": " ".join(providers),
            "MAILSPEC_STORE": server.url(db=2),
        }
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.app = Celery(
            "mailspec-tests", broker=self.env["TEST_BROKER"], backend=self.env["TEST_BACKEND"]
        )
        self.app.conf.update(
            task_serializer="json", result_serializer="json", accept_content=["json"]
        )
        # the same task on the sending side: queued by name, never run here
        self.send = mailspec.celery.send_task(self.app)
        self._logs: list[Path] = []

    def start(self) -> subprocess.Popen[bytes]:
        number = len(self.processes) + 1
        log = self.tmp / f"worker{number}.log"
        self._logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "celery_app",
                    "worker",
                    *WORKER_OPTIONS,
                    "-n",
                    f"w{number}@localhost",
                    "-l",
                    "INFO",
                ],
                cwd=HERE,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"a worker exited at start:\n{log.read_text()[-3000:]}")
            if b" ready." in log.read_bytes():
                return process
            time.sleep(0.1)
        pytest.fail(f"a worker was not ready within 60 s:\n{log.read_text()[-3000:]}")

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


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Any]:
    made: list[Workers] = []

    def make(providers: list[str]) -> Workers:
        made.append(Workers(redis_server, tmp_path, providers))
        return made[-1]

    yield make
    for w in made:
        w.stop()
