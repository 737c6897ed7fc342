"""Reject: a remote identity refused our follow request, or removed us as a follower."""

from __future__ import annotations

from federation.handlers import shares
from federation.handlers.answers import find_follow
from federation.handlers.base import Incoming
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    if target is not None and await shares.revoked(inc, target):
        return  # a grantee turned down one of our shares

    async def effect(tx: Tx) -> None:
        follow = await find_follow(tx, inc.fed.urls, inc.object, None, inc.ident.guid)
        if follow is not None:
            await inc.fed.services.follows.remote_answer(tx, follow, accepted=False)

    await inc.apply(effect)
