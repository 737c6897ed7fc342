"""Keeping the connections of a pod of several processes spread evenly over them.

Each process listens on a socket of its own (SO_REUSEPORT) and the kernel gives each new
connection to one of them by a hash of its addresses, so a few dozen keep-alive connections
(a busy peer's, a client's) can sit unevenly, one process saturated beside another that idles.
Each process counts the connections it answered on lately, in memory the processes share; one
holding more than its share closes a connection after its answer (`Connection: close`), and the
client's next connection is dealt again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable

from aiohttp import web

# Connections answered on within this many seconds count as this process's.
WINDOW_SECONDS = 0.5
# How often a process publishes its count.
PUBLISH_SECONDS = 0.1
# At most one connection closed per this many seconds, so that the processes' counts, which
# lag, can catch up before another goes.
SHED_SECONDS = 0.02


class ConnectionCounts:
    """Made before the processes (each inherits it): per process, its busy connections."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._counts = multiprocessing.RawArray("i", count)

    def set(self, index: int, value: int) -> None:
        self._counts[index] = value

    def get(self, index: int) -> int:
        return int(self._counts[index])

    def total(self) -> int:
        return sum(self._counts)


class ConnectionSpread:
    """One process's part: an `on_response_prepare` hook."""

    def __init__(
        self, counts: ConnectionCounts, index: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._counts = counts
        self._index = index
        self._clock = clock
        self._seen: dict[asyncio.BaseTransport, float] = {}  # connection -> its last answer
        self._published = 0.0
        self._shed = 0.0

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        transport = request.transport
        if transport is None or not request.keep_alive:
            return
        now = self._clock()
        self._seen[transport] = now
        if now - self._published >= PUBLISH_SECONDS:
            self._publish(now)
        counts = self._counts
        mine = counts.get(self._index)
        # More than one connection over an even share (the pod's total over its processes).
        if (mine - 1) * counts.count > counts.total() and now - self._shed >= SHED_SECONDS:
            # The headers are made before this hook runs: it says `close` itself.
            response.force_close()
            response.headers["Connection"] = "close"
            self._shed = now
            del self._seen[transport]
            counts.set(self._index, mine - 1)

    def _publish(self, now: float) -> None:
        since = now - WINDOW_SECONDS
        self._seen = {
            conn: at for conn, at in self._seen.items() if at >= since and not conn.is_closing()
        }
        self._counts.set(self._index, len(self._seen))
        self._published = now
