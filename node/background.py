"""One app-scoped background task: started with the app, cancelled and awaited when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from node.clock import Clock
from node.store.db import Database, Tx


class Background:
    """Runs `job` from `start()` until `stop()`; workers inherit both."""

    def __init__(self, job: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._job = job
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._job(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class Periodic(Background):
    """Runs `job` at start, then every `seconds`, until stopped: a run that fails is logged to
    `log`, and the next one comes all the same."""

    def __init__(
        self, job: Callable[[], Awaitable[object]], seconds: float, name: str, log: logging.Logger
    ) -> None:
        self._every = (job, seconds, log)
        super().__init__(self._loop, name)

    async def _loop(self) -> None:
        job, seconds, log = self._every
        while True:
            try:
                await job()
            except Exception:
                log.exception("%s failed", self._name)
            await asyncio.sleep(seconds)


class Pruner(Periodic):
    """Forgets rows older than `keep`, at start and then every hour (`prune_once`, each
    subclass's, is the test hook; `_prune` runs it and logs what went)."""

    EVERY_SECONDS = 3600.0
    NAME = "hearth-pruner"
    LOG = logging.getLogger("hearth")

    def __init__(self, db: Database, clock: Clock, keep: timedelta) -> None:
        self._db = db
        self._clock = clock
        self._keep = keep
        super().__init__(self._prune, self.EVERY_SECONDS, self.NAME, self.LOG)

    async def _prune(self) -> None:
        raise NotImplementedError

    async def _in_batches(self, forget: Callable[[Tx], Awaitable[int]]) -> int:
        """Run `forget` (which forgets a batch of rows) in transactions of its own, so the
        writer is never held for long, until it forgets none; how many it forgot in all."""
        total = 0
        while True:
            async with self._db.transaction() as tx:
                gone = await forget(tx)
            if gone == 0:
                return total
            total += gone
