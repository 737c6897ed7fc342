"""Block: the remote actor blocks one of ours; follows between them end both ways."""

from __future__ import annotations

from federation.handlers.base import Incoming
from node.store import identities as identity_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    username = inc.fed.urls.local_username(target) if target else None
    blocked = await identity_store.get_by_handle(inc.fed.db, username, None) if username else None
    if blocked is None:
        return

    async def effect(tx: Tx) -> None:
        await inc.fed.services.follows.sever(tx, inc.ident.guid, blocked.guid)

    await inc.apply(effect)
