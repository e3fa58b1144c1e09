"""A local nginx that answers the providers' documented success bodies, fast enough
not to be the bottleneck. Started from a config in a temp dir, stopped by its own
process id (never by name)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

AURORA_OK = (
    '{"result":true,"statusCode":200,"message":"request was successful",'
    '"info":{"emailIdList":["id1"]}}'
)
CLOUDMAILS_OK = '{"message_id":"m1"}'

_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_body_buffer_size 64k;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        location = /api/mail/send {{ return 200 '{aurora}'; }}
        location = /v1/send {{ return 200 '{cloudmails}'; }}
        location / {{ return 404 '{{"message":"not found"}}'; }}
    }}
}}
"""


def nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("nginx not found: scripts/bench installs it (apt-get install -y nginx)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def closed_port() -> tuple[socket.socket, int]:
    """A port that refuses connections: bound (so nobody else takes it), not listening.
    Keep the socket open for as long as the port must stay closed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


class Nginx:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="mailspec-bench-nginx-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            _CONF.format(
                user=user, tmp=self.tmp, port=self.port, aurora=AURORA_OK, cloudmails=CLOUDMAILS_OK
            )
        )
        self.proc = subprocess.Popen(
            [
                nginx_binary(),
                "-p",
                str(self.tmp),
                "-c",
                str(conf),
                "-e",
                str(self.tmp / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise SystemExit(f"nginx exited at start: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise SystemExit("nginx did not start listening within 10 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful stop of this master only
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Redis:
    """A throwaway redis-server on 127.0.0.1, for the ledger case; with an append-only
    file, as a Redis store must be run (the store refuses a server without one)."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="mailspec-bench-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed (scripts/services installs it)")
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"]
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), *options, "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise SystemExit("redis-server did not answer within 10 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
