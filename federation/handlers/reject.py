"""Reject: a remote identity refused our follow request, or removed us as a follower."""

from __future__ import annotations

from federation.handlers.answers import find_follow
from federation.handlers.base import Incoming
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    async def effect(tx: Tx) -> None:
        follow = await find_follow(tx, inc.fed.urls, inc.object, None, inc.ident.guid)
        if follow is not None:
            await inc.fed.services.follows.remote_answer(tx, follow, accepted=False)

    await inc.apply(effect)
