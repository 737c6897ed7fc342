"""Like and EmojiReact of posts we have."""

from __future__ import annotations

from typing import Any

from federation.handlers.base import Incoming
from node.services.reactions import is_single_emoji
from node.store.db import Tx

# Where Misskey (and its forks) put the emoji of a reaction sent as a Like: its own term,
# also spelt out in full when the activity went through JSON-LD, then `content`.
MISSKEY_NS = "https://misskey-hub.net/ns#"
_REACTION_KEYS = ("_misskey_reaction", MISSKEY_NS + "_misskey_reaction", "content")


def reaction_of(like: dict[str, Any]) -> str | None:
    """The emoji a Like carries, if it is a single Unicode emoji (as an EmojiReact's must be;
    a custom `:name:` one is not kept, and the Like stays a like)."""
    for key in _REACTION_KEYS:
        value = like.get(key)
        if isinstance(value, str) and value:
            return value if is_single_emoji(value) else None
    return None


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    if target is None:
        return
    emoji = reaction_of(inc.activity)
    if emoji is not None:  # a Misskey reaction
        await _react(inc, target, emoji)
        return

    async def effect(tx: Tx) -> None:
        await inc.fed.services.posts.remote_interaction(tx, inc.ident, "like", target, inc.id)

    await inc.apply(effect)


async def handle_emoji(inc: Incoming) -> None:
    target = inc.object_ref
    emoji = inc.activity.get("content")
    if target is None or not isinstance(emoji, str):
        return
    await _react(inc, target, emoji)


async def _react(inc: Incoming, target: str, emoji: str) -> None:
    async def effect(tx: Tx) -> None:
        await inc.fed.services.reactions.remote_react(tx, inc.ident, target, emoji, inc.id)

    await inc.apply(effect)
