"""A local HTTP/1.1 server that answers CloudMails' documented success body after a
fixed delay, like a provider across a network: ``python -m benchmarks.latency_server
SECONDS`` prints its port and serves until stdin closes. Keep-alive, many connections
at once (asyncio), so the delay, not the server, is what a sender waits for."""

from __future__ import annotations

import asyncio
import sys

from .server import CLOUDMAILS_OK

_ANSWER = (
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    f"Content-Length: {len(CLOUDMAILS_OK)}\r\n\r\n{CLOUDMAILS_OK}"
).encode()


async def _serve(delay: float) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                await asyncio.sleep(delay)
                writer.write(_ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()  # the client went, or the server is stopping

    server = await asyncio.start_server(answer, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1])))
