"""Send one message through mailspec to a local stand-in for AuroraSendCloud.

The stand-in is a few lines of stdlib HTTP server answering the documented success
envelope; it prints what arrived on the wire so you can see the seed's form fields.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import mailspec
from mailspec import Message

received: list[tuple[str, str, dict[str, str]]] = []


class StandIn(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        received.append((self.command, self.path, dict(parse_qsl(body))))
        answer = {
            "result": True,
            "statusCode": 200,
            "message": "request was successful",
            "info": {"emailIdList": [f"demo-{len(received)}"]},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        aurora = mailspec.provider(
            "aurorasendcloud",
            api_user="demo-user",
            api_key="demo-key",
            base_url=f"http://127.0.0.1:{server.server_port}/",
        )
        result = aurora.send(
            Message(
                from_email="noreply@example.com",
                from_name="Shop",
                to=["ann@example.org"],
                subject="Your order",
                html="<p>Hi %name%</p>",
                recipient_variables={"ann@example.org": {"name": "Ann"}},
            )
        )
        method, path, fields = received[-1]
        print(f"{method} {path}")
        for key, value in fields.items():
            print(f"  {key} = {'***' if key == 'api_key' else value}")
        print(f"accepted by {result.provider}: message ids {result.message_ids}")
        print(f"explain 50000: {mailspec.explain_code('aurorasendcloud', 50000)}")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
