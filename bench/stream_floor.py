"""The floor for bench/stream.py: a plain `websockets` server that broadcasts every frame a
client sends to every connected client. No Django, no channel layer.

    python bench/stream_floor.py <port>
"""

import asyncio
import sys

import websockets

CONNECTIONS: set = set()


async def handler(connection) -> None:
    CONNECTIONS.add(connection)
    try:
        await connection.send('{"type": "hello"}')
        async for message in connection:
            websockets.broadcast(CONNECTIONS, message)
    finally:
        CONNECTIONS.discard(connection)


async def main(port: int) -> None:
    async with websockets.serve(handler, "127.0.0.1", port, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
