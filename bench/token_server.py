"""A loopback OAuth 2.0 token endpoint for the refresh storm: every POST is answered after a
fixed latency (50 ms by default) with a fresh client_credentials reply. HTTP/1.1 with
keep-alive on asyncio, in a process of its own so it takes no time from the app's event loop.
Prints its port on the first line of stdout; serves until stdin closes.
    python -m bench.token_server [--latency 0.05]"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys

_serial = itertools.count(1)


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(latency)
            body = json.dumps(
                {
                    "access_token": f"bench-access-{next(_serial):06d}-" + "x" * 600,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(latency: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, latency), "127.0.0.1", 0, backlog=256
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    asyncio.run(serve(parser.parse_args().latency))


if __name__ == "__main__":
    main()
