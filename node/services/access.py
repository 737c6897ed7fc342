"""The one place that decides who may read, change, delete or re-share what.

Every read and write path (local API, streams, signed federation fetches, inbox writes) asks
here or uses the same predicate in its query (node.store.shares.post_permitted), so follows,
direct addressing and explicit grants mean the same thing everywhere. Expired grants stop
working at their `expires_at` with no job needed: the check compares with now.

Through the local API the token's scopes narrow this further (see node.services.principal):
a token without private:read sees public posts only (`public_only`, in queries too), and one
without private:modify may not write, change or interact with a post that is not public.
"""

from __future__ import annotations

from node.clock import Clock, iso
from node.errors import forbidden, not_found
from node.ids import is_guid
from node.services.principal import PRIVATE_MODIFY, Principal
from node.store import posts as post_store
from node.store.db import Queryable
from node.store.posts import Post


class Access:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> str:
        return iso(self._clock.now())

    async def may(self, q: Queryable, viewer: str | None, post_guid: str, perm: str) -> bool:
        return await post_store.permitted(q, post_guid, viewer, perm, self.now())

    async def post(
        self,
        q: Queryable,
        viewer: str | None,
        guid: str,
        perm: str = "can_read",
        public_only: bool = False,
    ) -> Post:
        """The post if `viewer` holds `perm`; 404 when they cannot even see it (or, with
        `public_only`, it is not public), else 403."""
        post = await post_store.get(q, guid) if is_guid(guid) else None
        if (
            post is None
            or (public_only and post.visibility != "public")
            or not await self.may(q, viewer, post.guid, "can_read")
        ):
            raise not_found("Post")
        if perm != "can_read" and not await self.may(q, viewer, post.guid, perm):
            raise forbidden("You may not change this post.")
        return post

    async def post_for(
        self,
        q: Queryable,
        who: Principal,
        guid: str,
        perm: str = "can_read",
        needed_to: str | None = None,
    ) -> Post:
        """The post as `who`'s token reaches it: only public ones without private:read. With
        `needed_to` (what the caller does with it: a change or an interaction), one that is
        not public also needs private:modify."""
        post = await self.post(q, who.identity_guid, guid, perm, who.public_only)
        if needed_to is not None:
            require_private_modify(who, post.visibility, needed_to)
        return post


def require_private_modify(who: Principal, visibility: str, needed_to: str) -> None:
    """Writing, changing or interacting with a post that is not public needs private:modify."""
    if visibility != "public":
        who.require(PRIVATE_MODIFY, f"{needed_to} a post that is not public")
