"""A TCP relay that adds one-way network delay (tc netem does not exist on the lab kernel).

usage: relay.py LISTEN_HOST LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT REQ_DELAY_MS RESP_JITTER_MS SEED LOG

Bytes from the client side are delivered REQ_DELAY_MS after they arrive; bytes from the upstream
side are delivered after a delay drawn uniformly from [0, RESP_JITTER_MS] for each HTTP request
(a new draw whenever an X-Request-ID header passes towards the upstream). Order is kept in each
direction. One JSON line per request goes to LOG (the fault ledger, not part of the bundle).
"""

import asyncio
import json
import random
import re
import sys
import time
from datetime import datetime, timezone

LH, LP, UH, UP = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
REQ_DELAY = float(sys.argv[5]) / 1000.0
RESP_JITTER = float(sys.argv[6]) / 1000.0
RNG = random.Random(int(sys.argv[7]))
LOG = open(sys.argv[8], "a", buffering=1, encoding="utf-8")
RID = re.compile(rb"\r\nx-request-id:\s*([^\r\n]+)", re.IGNORECASE)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Pipe:
    """Delivers chunks to `writer` in order, each no earlier than its due time."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.q: asyncio.Queue = asyncio.Queue()
        self.last_due = 0.0
        self.task = asyncio.create_task(self.run())

    def put(self, data: bytes | None, delay: float) -> None:
        due = max(time.monotonic() + delay, self.last_due)
        self.last_due = due
        self.q.put_nowait((due, data))

    async def run(self) -> None:
        try:
            while True:
                due, data = await self.q.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass


async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
    peer = cw.get_extra_info("peername")
    try:
        ur, uw = await asyncio.open_connection(UH, UP)
    except OSError:
        cw.close()
        return
    to_up, to_client = Pipe(uw), Pipe(cw)
    state = {"resp_delay": RNG.uniform(0, RESP_JITTER)}

    async def up() -> None:
        try:
            while data := await cr.read(65536):
                m = RID.search(data)
                if m:
                    state["resp_delay"] = RNG.uniform(0, RESP_JITTER)
                    LOG.write(json.dumps({
                        "ts": now_iso(), "request_id": m.group(1).decode("latin-1").strip(),
                        "req_delay_ms": round(REQ_DELAY * 1000, 1),
                        "resp_delay_ms": round(state["resp_delay"] * 1000, 1),
                        "peer": f"{peer[0]}:{peer[1]}"}) + "\n")
                to_up.put(data, REQ_DELAY)
        except (ConnectionError, OSError):
            pass
        to_up.put(None, REQ_DELAY)

    async def down() -> None:
        try:
            while data := await ur.read(65536):
                to_client.put(data, state["resp_delay"])
        except (ConnectionError, OSError):
            pass
        to_client.put(None, state["resp_delay"])

    await asyncio.gather(up(), down())
    await asyncio.gather(to_up.task, to_client.task, return_exceptions=True)
    for w in (uw, cw):
        try:
            w.close()
        except OSError:
            pass


async def main() -> None:
    server = await asyncio.start_server(handle, LH, LP, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
