"""Like and EmojiReact of posts we have."""

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


async def handle_emoji(inc: Incoming) -> None:
    target = inc.object_ref
    emoji = inc.activity.get("content")
    if target is None or not isinstance(emoji, str):
        return

    async def effect(tx: Tx) -> None:
        await inc.fed.services.reactions.remote_react(tx, inc.ident, target, emoji, inc.id)

    await inc.apply(effect)
