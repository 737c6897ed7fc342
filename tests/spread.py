"""A pod of two processes behind a front that hands each request to the next process in turn,
as the kernel spreads connections over the processes' sockets (node/serve.py `bind`), only
more strictly: consecutive requests, from a user or from another pod, land on different
processes. The front listens on the pod's public URL, so everything addressed to the pod (API
calls, inbox deliveries, fetches of its actors and objects) goes through it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from yarl import URL

from node.store.turn import TurnBoard
from node.workers import Wakes
from tests.conftest import PodFactory
from tests.support import Pod, free_port
from tests.test_workers import Process, start_processes

# Headers of one connection, not of the request: the front answers them itself.
_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
}


@dataclass
class SpreadPod(Pod):
    """The pod as its users and other pods see it: `url` is the front, `app` the primary's
    (for looking at the shared database); `processes[i]` reaches process i directly."""

    processes: list[Process] = field(default_factory=list)
    served: list[int] = field(default_factory=lambda: [0, 0])  # requests each process answered
    pinned: int | None = None  # while set, every request goes to this process

    @contextmanager
    def on(self, index: int) -> Iterator[None]:
        """Send every request to process `index` meanwhile (the turns of the others wait)."""
        self.pinned = index
        try:
            yield
        finally:
            self.pinned = None


def _front(pod: SpreadPod, session: ClientSession) -> web.Application:
    turn = itertools.cycle(range(len(pod.processes)))

    async def forward(request: web.Request) -> web.StreamResponse:
        index = next(turn) if pod.pinned is None else pod.pinned
        pod.served[index] += 1
        target = URL(f"http://127.0.0.1:{pod.processes[index].server.port}{request.raw_path}",
                     encoded=True)  # fmt: skip
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        body = await request.read()
        async with session.request(
            request.method, target, headers=headers, data=body or None, allow_redirects=False
        ) as resp:
            content = await resp.read()
            answer = [(k, v) for k, v in resp.headers.items() if k.lower() not in _HOP]
            return web.Response(status=resp.status, body=content, headers=answer)

    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


@asynccontextmanager
async def spread_pod(
    make_pod: PodFactory, folder: Path, wakes: Wakes, turns: TurnBoard, **settings: Any
) -> AsyncIterator[SpreadPod]:
    """Two processes of one pod (tests/test_workers.py `start_processes`) behind the front;
    `settings`: config sections for both."""
    port = free_port()
    server = {**settings.pop("server", {}), "public_url": f"http://127.0.0.1:{port}"}
    two = await start_processes(make_pod, folder, wakes, turns, server=server, **settings)
    primary = Process(two.primary.config, two.primary.server, two.primary.clock, two.primary.http)
    pod = SpreadPod(
        two.primary.config, two.primary.server, two.primary.clock, two.primary.http,
        processes=[primary, two.other],
    )  # fmt: skip
    # Neither adds headers of its own nor inflates what it passes on.
    session = ClientSession(
        auto_decompress=False, skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding")
    )
    front = TestServer(_front(pod, session), host="127.0.0.1", port=port)
    await front.start_server()
    try:
        yield pod
    finally:
        await front.close()
        await session.close()
