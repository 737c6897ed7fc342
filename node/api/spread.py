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


# A count published longer ago than this has lapsed: its process has answered on none of those
# connections since (it would have published again), so none of them is busy any more.
LAPSE_SECONDS = WINDOW_SECONDS + PUBLISH_SECONDS


class ConnectionCounts:
    """Made before the processes (each inherits it): per process, its busy connections, and
    when it counted them (time.monotonic, the same clock in every process)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._counts = multiprocessing.RawArray("i", count)
        self._at = multiprocessing.RawArray("d", count)

    def set(self, index: int, value: int, at: float | None = None) -> None:
        self._at[index] = time.monotonic() if at is None else at
        self._counts[index] = value

    def get(self, index: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return int(self._counts[index]) if now - self._at[index] < LAPSE_SECONDS else 0

    def total(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return sum(self.get(i, now) for i in range(self.count))


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
        mine = counts.get(self._index, now)
        # More than its even share (the pod's total over its processes, rounded up): one
        # connection less would still leave it its share.
        if (mine - 1) * counts.count >= counts.total(now) and now - self._shed >= SHED_SECONDS:
            # The headers are made before this hook runs: it says `close` itself.
            response.force_close()
            response.headers["Connection"] = "close"
            self._shed = now
            del self._seen[transport]
            counts.set(self._index, mine - 1, self._published)

    def _publish(self, now: float) -> None:
        since = now - WINDOW_SECONDS
        self._seen = {
            conn: at for conn, at in self._seen.items() if at >= since and not conn.is_closing()
        }
        self._counts.set(self._index, len(self._seen), now)
        self._published = now
