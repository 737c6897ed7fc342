"""Undo of a Follow, Like, EmojiReact or Announce, only by the actor who did it."""

from __future__ import annotations

from federation.handlers.answers import find_follow
from federation.handlers.base import Incoming
from federation.urls import same_origin
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    obj = inc.object
    kind = obj.get("type") if isinstance(obj, dict) else None
    undone = inc.object_ref
    if undone is None or not same_origin(undone, inc.actor.uri):
        return

    async def effect(tx: Tx) -> None:
        services = inc.fed.services
        if kind in (None, "Follow"):
            follow = await find_follow(tx, inc.fed.urls, obj, inc.ident.guid, None)
            if follow is not None:
                await services.follows.remote_unfollow(tx, follow)
                return
        # A Like may have been a reaction (Misskey's): undone like an EmojiReact.
        if kind in (None, "EmojiReact", "Like") and await services.reactions.remote_unreact(
            tx, inc.ident, undone
        ):
            return
        if kind in (None, "Like", "Announce"):
            await services.posts.remote_undo_interaction(tx, inc.ident, undone)

    await inc.apply(effect)
