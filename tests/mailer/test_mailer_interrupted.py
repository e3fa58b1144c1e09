"""An interruption that is not an error (Ctrl-C, the SystemExit of a server's worker
timeout) after a request was written leaves its key maybe sent, on every sync path:
``Mailer.send``, ``send_many`` one at a time and on threads, and ``mailspec send
--file``. The sandbox holds its answer (latency) while it already has the message; a
real signal or a real SystemExit cuts the send then. The same key sent again must not
reach CloudMails (which cannot deduplicate) a second time."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from mailspec import AllProvidersFailed, Mailer, Message, SendResult
from mailspec.sandbox import Latency, SandboxServer

HOLD = 1.0  # seconds the sandbox holds every answer, the message already accepted


@pytest.fixture
def cloudmails() -> Iterator[SandboxServer]:
    with SandboxServer("cloudmails", latency=HOLD) as server:
        yield server


def message(i: int) -> Message:
    return Message(
        from_email="noreply@example.com",
        to=[f"user{i}@example.org"],
        subject=f"m{i}",
        html="<p>x</p>",
        idempotency_key=f"key-{i}",
    )


def copies(server: SandboxServer) -> dict[str, int]:
    """How many copies of each subject the sandbox accepted."""
    counted: dict[str, int] = {}
    for row in server.accepted:
        subject = row.params["subject"]
        counted[subject] = counted.get(subject, 0) + 1
    return counted


def when_held(server: SandboxServer, count: int, act: Callable[[], None]) -> threading.Thread:
    """Run ``act`` on a thread of its own once the sandbox holds ``count`` messages (and
    sits on its answer): at most 5 s of polling."""

    def watch() -> None:
        for _ in range(500):
            if len(server.accepted) >= count:
                act()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(1)  # what gunicorn's worker does on its timeout signal


@pytest.fixture(params=["SIGINT", "SIGUSR1"], ids=["ctrl-c", "system-exit"])
def interrupting(request: pytest.FixtureRequest) -> Iterator[tuple[int, type[BaseException]]]:
    """A real signal to this process, and what its handler raises in the main thread:
    KeyboardInterrupt (Python's own SIGINT handler) or SystemExit."""
    if request.param == "SIGINT":
        signum, handler, raised = signal.SIGINT, signal.default_int_handler, KeyboardInterrupt
    else:
        signum, handler, raised = signal.SIGUSR1, _exit, SystemExit
    previous = signal.signal(signum, handler)
    try:
        yield signum, raised
    finally:
        signal.signal(signum, previous)


def signal_main(signum: int) -> Callable[[], None]:
    return lambda: signal.pthread_kill(threading.main_thread().ident or 0, signum)


def mailer(server: SandboxServer) -> Mailer:
    return Mailer([server.provider(timeout=5)], deadline=10)


def test_send_interrupted_after_the_write_is_not_sent_again(
    cloudmails: SandboxServer, interrupting: tuple[int, type[BaseException]]
) -> None:
    signum, raised = interrupting
    sender = mailer(cloudmails)
    watcher = when_held(cloudmails, 1, signal_main(signum))
    with pytest.raises(raised):
        sender.send(message(1))
    watcher.join()
    cloudmails.latency = Latency(0)
    with pytest.raises(AllProvidersFailed) as again:  # resolved: it cannot be asked
        sender.send(message(1))
    assert again.value.ambiguous and "cannot be asked" in str(again.value)
    assert copies(cloudmails) == {"m1": 1}


def test_send_many_one_at_a_time_interrupted_is_resolved_on_the_resend(
    cloudmails: SandboxServer, interrupting: tuple[int, type[BaseException]]
) -> None:
    signum, raised = interrupting
    sender = mailer(cloudmails)
    batch = [message(i) for i in range(3)]
    watcher = when_held(cloudmails, 2, signal_main(signum))  # while the second is held
    with pytest.raises(raised):
        sender.send_many(batch, concurrency=1)
    watcher.join()
    cloudmails.latency = Latency(0)
    first, second, third = sender.send_many(batch, concurrency=1)
    assert isinstance(first, SendResult) and first.replayed
    assert isinstance(second, AllProvidersFailed) and second.ambiguous
    assert isinstance(third, SendResult) and not third.replayed
    assert copies(cloudmails) == {"m0": 1, "m1": 1, "m2": 1}


def _raise_in(thread_id: int, error: type[BaseException]) -> None:
    """Raise ``error`` in another thread, at its next bytecode: a sending thread of
    send_many blocked on the held answer gets it as soon as the answer comes."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(error)
    )
    assert done == 1


def test_send_many_on_threads_a_sending_thread_exits_and_its_key_stays_maybe_sent(
    cloudmails: SandboxServer,
) -> None:
    sender = mailer(cloudmails)
    batch = [message(i) for i in range(2)]

    def cut_one() -> None:
        senders = [t for t in threading.enumerate() if t.name.startswith("mailspec-send")]
        _raise_in(senders[0].ident or 0, SystemExit)

    watcher = when_held(cloudmails, 2, cut_one)  # both held, one sending thread cut
    with pytest.raises(SystemExit):
        sender.send_many(batch, concurrency=2)
    watcher.join()
    cloudmails.latency = Latency(0)
    outcomes = sender.send_many(batch, concurrency=2)
    replayed = [o for o in outcomes if isinstance(o, SendResult) and o.replayed]
    unresolved = [o for o in outcomes if isinstance(o, AllProvidersFailed) and o.ambiguous]
    assert len(replayed) == 1 and len(unresolved) == 1
    assert copies(cloudmails) == {"m0": 1, "m1": 1}


def test_cli_send_file_interrupted_by_ctrl_c_is_not_sent_again(
    cloudmails: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "messages.jsonl"
    lines = [
        {"to": [f"user{i}@example.org"], "subject": f"m{i}", "html": "<p>x</p>",
         "idempotency_key": f"cli-{i}"}
        for i in range(2)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("MAILSPEC_")}
    env["MAILSPEC_STORE"] = f"sqlite:///{tmp_path / 'state.db'}"
    command = [
        sys.executable, "-m", "mailspec", "send", "--provider", cloudmails.url,
        "--from", "noreply@example.com", "--file", str(path), "--concurrency", "1", "--json",
    ]  # fmt: skip
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = when_held(cloudmails, 1, lambda: run.send_signal(signal.SIGINT))
    _, stderr = run.communicate(timeout=60)
    watcher.join()
    assert run.returncode == 130, stderr
    cloudmails.latency = Latency(0)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1, again.stderr
    first, second = (json.loads(line) for line in again.stdout.splitlines())
    assert not first["sent"] and first["ambiguous"] and "cannot be asked" in first["message"]
    assert second["sent"]
    assert copies(cloudmails) == {"m0": 1, "m1": 1}
