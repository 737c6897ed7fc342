"""Like (and EmojiReact, counted as a like until reactions are their own thing) of our posts."""

from __future__ import annotations

from federation.handlers.base import Incoming
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    if target is None:
        return

    async def effect(tx: Tx) -> None:
        await inc.fed.services.posts.remote_interaction(tx, inc.ident, "like", target, inc.id)

    await inc.apply(effect)


handle_emoji = handle
