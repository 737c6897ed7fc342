"""What services need from federation, as protocols: services never import federation itself.

The publisher turns local changes into outgoing activities inside the caller's transaction, so a
change and the deliveries it causes commit together. The directory finds remote identities.
"""

from __future__ import annotations

from typing import Protocol

from node.store.db import Tx
from node.store.follows import Follow
from node.store.identities import Identity
from node.store.interactions import Interaction
from node.store.posts import Post


class Publisher(Protocol):
    def activity_id(self, guid: str) -> str:
        """The URI of a local activity (a Follow, a Like) with this GUID."""
        ...

    def post_id(self, guid: str) -> str:
        """The URI of a local post with this GUID."""
        ...

    async def follow(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity
    ) -> None: ...

    async def follow_answered(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity, accepted: bool
    ) -> None: ...

    async def unfollow(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity
    ) -> None: ...

    async def post_created(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def post_updated(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def post_deleted(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def interaction(self, tx: Tx, item: Interaction, post: Post, actor: Identity) -> None: ...

    async def interaction_undone(
        self, tx: Tx, item: Interaction, post: Post, actor: Identity
    ) -> None: ...


class Directory(Protocol):
    async def resolve_handle(self, username: str, domain: str) -> Identity:
        """A remote identity by handle (WebFinger, then its actor); ApiError 404 if none."""
        ...

    async def resolve_uri(self, uri: str) -> Identity:
        """A remote identity by actor URI; ApiError 404 if it cannot be fetched."""
        ...
