"""Follow: a remote actor follows one of our identities; unlocked ones Accept at once. A Follow
of one of our spaces' Groups asks to join it."""

from __future__ import annotations

from federation.handlers import spaces
from federation.handlers.base import Incoming
from node.store import identities as identity_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    space_guid = inc.fed.urls.local_group_guid(target) if target else None
    if space_guid is not None:
        await spaces.follow(inc, space_guid)
        return
    username = inc.fed.urls.local_username(target) if target else None
    followee = await identity_store.get_by_handle(inc.fed.db, username, None) if username else None
    if followee is None:
        return

    async def effect(tx: Tx) -> None:
        await inc.fed.services.follows.remote_follow(tx, inc.ident, followee, inc.id)

    await inc.apply(effect)
