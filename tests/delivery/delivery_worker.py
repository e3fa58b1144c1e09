"""One process for the cross-process delivery tests (run as a script). Every wait is
bounded, so a worker the test forgot ends by itself.

Jobs:
  suppress URL ADDRESS...     add each address to the suppression list of a Mailer on URL
  remove URL ADDRESS...       remove each
  list URL                    print the suppressed addresses, one a line
  serve URL PROVIDER PORT SECRET [before|after FLAG]
                              receive PROVIDER's webhooks on 127.0.0.1:PORT, recording into
                              a Mailer on URL; with ``before``/``after``, the first request
                              touches FLAG and hangs before (or after) recording, to be
                              killed there
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import mailspec
from mailspec import Mailer
from mailspec.webhooks import WebhookApp

HANG_SECONDS = 60.0


def mailer(url: str) -> Mailer:
    # never sent through: the jobs only record and read suppressions
    idle = mailspec.provider("cloudmails", api_key="idle-key", base_url="http://127.0.0.1:9/v1")
    return Mailer([idle], store=url)


class _Hanging:
    """Records through ``mailer``; the first call hangs (to be killed) before or after."""

    def __init__(self, mailer: Mailer, where: str, flag: Path) -> None:
        self.mailer, self.where, self.flag = mailer, where, flag
        self.calls = 0

    def record(self, events: Any) -> int:
        self.calls += 1
        if self.calls == 1 and self.where == "before":
            self._hang()
        recorded = self.mailer.record(events)
        if self.calls == 1 and self.where == "after":
            self._hang()
        return recorded

    def _hang(self) -> None:
        self.flag.touch()
        time.sleep(HANG_SECONDS)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(url: str, provider: str, port: int, secret: str, hang: list[str]) -> None:
    target: Any = mailer(url)
    if hang:
        target = _Hanging(target, hang[0], Path(hang[1]))
    app = WebhookApp(provider, mailer=target, secret=secret)
    server = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    server.timeout = 0.2
    print("ready", flush=True)
    end = time.monotonic() + HANG_SECONDS
    while time.monotonic() < end:
        server.handle_request()


def main(argv: list[str]) -> None:
    job, url, *rest = argv
    if job == "suppress":
        for address in rest:
            mailer(url).suppressions.add(address, "test")
        print("done", flush=True)
    elif job == "remove":
        for address in rest:
            mailer(url).suppressions.remove(address)
        print("done", flush=True)
    elif job == "list":
        for suppression in mailer(url).suppressions:
            print(suppression.address, flush=True)
    elif job == "serve":
        provider, port, secret, *hang = rest
        serve(url, provider, int(port), secret, hang)
    else:
        raise SystemExit(f"unknown job {job!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
