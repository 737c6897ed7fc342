"""What a post's text means: Markdown rendered to safe HTML, mentions resolved to identities
(local, or remote through WebFinger) and hashtags collected. Resolution happens before the
post's transaction, since it may fetch."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from node.errors import ApiError
from node.services.lookups import each_at_once
from node.services.ports import Directory, Publisher
from node.services.text import extract_mentions, extract_tags, render_markdown
from node.store import identities as identity_store
from node.store.db import Database
from node.store.identities import Identity

log = logging.getLogger("hearth.posts")


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
            return await self._directory.resolve_handle(username, domain, "person")
        except ApiError:
            log.info("mention of unknown %s@%s left as text", username, domain)
            return None

    async def compose(self, body: str) -> Composed:
        keys = extract_mentions(body)
        resolved = await each_at_once(keys, lambda key: self._resolve(*key))
        found = {key: i for key, i in zip(keys, resolved, strict=True) if i is not None}
        urls = {key: await self._publisher.actor_id(self._db, i) for key, i in found.items()}
        html = render_markdown(body, urls, self._publisher.tag_id("{tag}"))
        mentioned = list({i.guid: i for i in found.values()}.values())
        return Composed(html, mentioned, extract_tags(body))
