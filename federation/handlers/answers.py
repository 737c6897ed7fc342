"""Finding the Follow that an Accept, Reject or Undo refers to."""

from __future__ import annotations

from typing import Any

from federation.convert import ref
from federation.urls import Urls
from node.store import follows as follow_store
from node.store import identities as identity_store
from node.store.db import Queryable
from node.store.follows import Follow


async def find_follow(
    q: Queryable, urls: Urls, obj: Any, follower_guid: str | None, followee_guid: str | None
) -> Follow | None:
    """By the Follow's id, or by the (actor, object) pair of an embedded Follow.

    The caller names which side the sender must be on; a Follow involving others is not found.
    """
    follow_id = ref(obj)
    follow = await follow_store.by_ap_id(q, follow_id) if follow_id else None
    if follow is None and isinstance(obj, dict):
        actor, target = ref(obj.get("actor")), ref(obj.get("object"))
        sides = []
        for uri in (actor, target):
            name = urls.local_username(uri) if uri else None
            ident = await identity_store.get_by_handle(q, name, None) if name else None
            sides.append(ident.guid if ident else None)
        if follower_guid and sides[1]:
            follow = await follow_store.between(q, follower_guid, sides[1])
        elif followee_guid and sides[0]:
            follow = await follow_store.between(q, sides[0], followee_guid)
    if follow is None:
        return None
    if follower_guid and follow.follower_guid != follower_guid:
        return None
    if followee_guid and follow.followee_guid != followee_guid:
        return None
    return follow
