"""The streams of diaspora*: main, activity, mentions, tags, liked, commented, bookmarks; the
comments of a post; posts of a hashtag; and the hashtags an identity follows."""

from __future__ import annotations

import re
import unicodedata

from node.clock import Clock, iso
from node.errors import conflict, not_found, validation
from node.services.access import Access
from node.services.posts import PostService
from node.services.principal import Principal
from node.store import streams as stream_store
from node.store import tags as tag_store
from node.store.db import Database
from node.store.paging import Page, PageRequest
from node.store.posts import PostRef

TAG_RE = re.compile(r"^[^\W_][\w]{0,99}\Z")


def normal_tag(tag: str) -> str:
    tag = tag.strip().lstrip("#").lower()
    # Combining marks are left out of the check: 'İ' lower-cases to 'i' and a combining dot,
    # which is how a post's #İstanbul is kept.
    if not TAG_RE.match("".join(c for c in tag if not unicodedata.combining(c))):
        raise validation({"name": "a hashtag: letters, digits and underscores"})
    return tag


class StreamService:
    def __init__(self, db: Database, clock: Clock, access: Access, posts: PostService) -> None:
        self._db = db
        self._clock = clock
        self._access = access
        self._posts = posts

    async def stream(
        self, who: Principal, name: str, page: PageRequest
    ) -> tuple[list[PostRef], Page]:
        if name == "main":
            return await self._posts.main_stream(who, page)
        if name not in stream_store.NAMES:
            raise not_found("Stream")
        return await stream_store.stream(
            self._db, name, who.identity_guid, self._access.now(), page, who.public_only
        )

    async def comments(
        self, who: Principal, post_guid: str, page: PageRequest
    ) -> tuple[list[PostRef], Page]:
        post = await self._access.post_for(self._db, who, post_guid)
        return await stream_store.comments(
            self._db, post.guid, who.identity_guid, self._access.now(), page, who.public_only
        )

    async def tagged(
        self, who: Principal, tag: str, page: PageRequest
    ) -> tuple[list[PostRef], Page]:
        return await stream_store.by_tag(
            self._db,
            normal_tag(tag),
            who.identity_guid,
            self._access.now(),
            page,
            who.public_only,
        )

    async def followed_tags(self, who: Principal) -> list[tuple[str, str]]:
        return await tag_store.followed(self._db, who.identity_guid)

    async def follow_tag(self, who: Principal, tag: str) -> tuple[str, str, bool]:
        """(tag, since, whether it is new): following a tag again changes nothing."""
        tag = normal_tag(tag)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            followed = dict(await tag_store.followed(tx, who.identity_guid))
            if tag in followed:
                return tag, followed[tag], False
            if len(followed) >= tag_store.MAX_FOLLOWED:
                raise conflict("You follow as many hashtags as one may.", "too_many_tags")
            await tag_store.follow(tx, who.identity_guid, tag, now)
        return tag, now, True

    async def unfollow_tag(self, who: Principal, tag: str) -> None:
        tag = normal_tag(tag)
        async with self._db.transaction() as tx:
            if not await tag_store.unfollow(tx, who.identity_guid, tag):
                raise not_found("Tag following")
