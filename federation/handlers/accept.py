"""Accept: a remote identity accepted one of our follow requests."""

from __future__ import annotations

from federation.handlers.answers import find_follow
from federation.handlers.base import Incoming
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    async def effect(tx: Tx) -> None:
        follow = await find_follow(tx, inc.fed.urls, inc.object, None, inc.ident.guid)
        if follow is not None and follow.state == "pending":
            await inc.fed.services.follows.remote_answer(tx, follow, accepted=True)

    await inc.apply(effect)
