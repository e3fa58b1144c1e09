"""Plain helpers for the HTTP tests (fixtures live in conftest.py): message and answer
builders, and a tiny raw-socket server for the transport faults werkzeug cannot produce
(silence, a dropped connection, a broken answer)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from mailspec import Message

SEND_PATH = "/api/mail/send"
STATUS_PATH = "/api/data/emailStatus"
SENTINEL = "SENTINEL-SECRET-123"


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "noreply@example.com",
        "from_name": "Shop",
        "to": ["ann@example.org"],
        "subject": "Your order",
        "html": "<p>Hi %name%</p>",
    }
    fields.update(overrides)
    return Message(**fields)


def ok_send(*ids: str) -> dict[str, Any]:
    return {
        "result": True,
        "statusCode": 200,
        "message": "request was successful",
        "info": {"emailIdList": list(ids)},
    }


def ok_status(records: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"voList": records}
    if total is not None:
        info["total"] = total
    return {"result": True, "statusCode": 200, "message": "request was successful", "info": info}


def failure(code: int, text: str = "failed", *, key: str = "statusCode") -> dict[str, Any]:
    return {"result": False, key: code, "message": text, "info": {}}


class RawServer:
    """A TCP server on 127.0.0.1; ``behaviour(server, conn)`` handles each accepted
    connection on the server's thread. Connections stay open until ``close()``."""

    def __init__(self, behaviour: Callable[[RawServer, socket.socket], None]) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.requests: list[bytes] = []
        self._behaviour = behaviour
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the accept timeout, or the listener closed
                continue
            self._conns.append(conn)
            with contextlib.suppress(OSError):
                self._behaviour(self, conn)

    def read_request(self, conn: socket.socket) -> bytes:
        """Read one whole HTTP request (head and Content-Length body) and keep it."""
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        request = head + b"\r\n\r\n" + body
        self.requests.append(request)
        return request

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        self._listener.close()
