"""The media worker: an app-scoped task that processes received uploads and cleans up."""

from __future__ import annotations

import asyncio
import logging

from node.background import Background
from node.services.media import MediaService

log = logging.getLogger("hearth.media")


class MediaWorker(Background):
    """Processes uploads one at a time (oldest first) and runs `gc` every `gc_every` seconds.

    Work is found in the database, not in memory: after a restart, whatever was `processing`
    is simply picked up again.
    """

    def __init__(self, media: MediaService, gc_every: float) -> None:
        self._media = media
        self._gc_every = gc_every
        super().__init__(self._run, "hearth-media-worker")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_gc = loop.time()  # once at start, then every interval
        while True:
            try:
                while await self._media.process_next():
                    pass
                if loop.time() >= next_gc:
                    next_gc = loop.time() + self._gc_every
                    report = await self._media.gc()
                    if report.uploads or report.blobs or report.files:
                        log.info("media gc: %s", report)
            except Exception:
                log.exception("media worker")  # keep going: one bad item must not stop the rest
                await asyncio.sleep(1.0)
            await self._media.wait_for_work(max(0.0, next_gc - loop.time()))
