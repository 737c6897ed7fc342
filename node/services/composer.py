"""What a post's text means: Markdown rendered to safe HTML, mentions resolved to identities
(local, or remote through WebFinger) and hashtags collected. Resolution happens before the
post's transaction, since it may fetch."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from node.errors import ApiError
from node.services.ports import Directory, Publisher
from node.services.text import extract_mentions, extract_tags, render_markdown
from node.store import identities as identity_store
from node.store.db import Database
from node.store.identities import Identity

log = logging.getLogger("hearth.posts")
# Mentions looked up at once: a post naming handles on several slow or stalled hosts waits
# about as long as the slowest lookup, not their sum, without one post opening 20 fetches.
MENTION_LOOKUPS = 5


@dataclass(frozen=True)
class Composed:
    html: str
    mentions: list[Identity]
    tags: list[str]


class Composer:
    def __init__(
        self, db: Database, publisher: Publisher, directory: Directory, our_host: str
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._directory = directory
        self._host = our_host.lower()

    async def _resolve(self, username: str, domain: str | None) -> Identity | None:
        if domain is None or domain == self._host:
            return await identity_store.get_by_handle(self._db, username, None)
        try:
            return await self._directory.resolve_handle(username, domain)
        except ApiError:
            log.info("mention of unknown %s@%s left as text", username, domain)
            return None

    async def _resolve_all(self, keys: list[tuple[str, str | None]]) -> list[Identity | None]:
        """`_resolve` of each key, in order, at most MENTION_LOOKUPS at a time."""
        slots = asyncio.Semaphore(MENTION_LOOKUPS)

        async def one(username: str, domain: str | None) -> Identity | None:
            async with slots:
                return await self._resolve(username, domain)

        tasks = [asyncio.ensure_future(one(*key)) for key in keys]
        try:
            return await asyncio.gather(*tasks)
        finally:
            # On an error (or the request going away) the other lookups are not left running.
            for task in tasks:
                task.cancel()

    async def compose(self, body: str) -> Composed:
        keys = extract_mentions(body)
        resolved = await self._resolve_all(keys)
        found = {key: i for key, i in zip(keys, resolved, strict=True) if i is not None}
        urls = {key: await self._publisher.actor_id(self._db, i) for key, i in found.items()}
        html = render_markdown(body, urls, self._publisher.tag_id("{tag}"))
        mentioned = list({i.guid: i for i in found.values()}.values())
        return Composed(html, mentioned, extract_tags(body))
