"""Delete of a post by its author (leaving a tombstone), or of the sender's actor."""

from __future__ import annotations

from federation.handlers import shares
from federation.handlers.base import Incoming
from federation.urls import same_origin
from node.clock import iso
from node.errors import forbidden
from node.store import identities as identity_store
from node.store import media as media_store
from node.store import remote_actors as actor_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    target = inc.object_ref
    if target is None:
        return
    local_post = inc.fed.urls.local_post_guid(target)
    if local_post is not None:
        # A grantee deleting one of our posts through a share: the access check decides.
        async def deleted(tx: Tx) -> None:
            await inc.fed.services.posts.delete_for_tx(tx, inc.ident.guid, local_post)

        await inc.apply(deleted)
        return
    if await shares.revoked(inc, target):
        return
    if not same_origin(target, inc.actor.uri):
        raise forbidden("Only the author may delete an object.", "origin_mismatch")
    if target != inc.actor.uri and await actor_store.by_uri(inc.fed.db, target) is not None:
        # Another actor of the same pod: only an actor itself says it is gone.
        raise forbidden("Only an actor may delete itself.", "actor_mismatch")

    async def effect(tx: Tx) -> None:
        if target == inc.actor.uri:
            # The account is gone: stop delivering to it, drop its follows both ways, its
            # shares, its memberships of our spaces and its posts (Mastodon deletes a deleted
            # remote account's data too).
            now = iso(inc.fed.clock.now())
            await actor_store.mark_identity_gone(tx, inc.ident.guid, now)
            # Its profile goes too; should its pod serve it again, a refetch brings it back.
            profile = {"display_name": "", "bio": "", "fields": []}
            await identity_store.update(tx, inc.ident.guid, now, profile)
            await media_store.set_remote_avatar(tx, inc.ident.guid, None)
            await tx.execute(
                "DELETE FROM follows WHERE follower_guid = ? OR followee_guid = ?",
                (inc.ident.guid, inc.ident.guid),
            )
            await tx.execute(
                "DELETE FROM shares WHERE owner_guid = ? OR grantee_guid = ?",
                (inc.ident.guid, inc.ident.guid),
            )
            await inc.fed.services.spaces.remote_identity_gone(tx, inc.ident)
            await inc.fed.services.posts.remote_author_deleted(tx, inc.ident)
            await inc.fed.services.reactions.remote_author_deleted(tx, inc.ident)
            await inc.fed.services.spaces.remote_group_deleted(tx, inc.ident)  # if a Group
            return
        await inc.fed.services.posts.remote_delete(tx, inc.ident, target)

    await inc.apply(effect)
    if target == inc.actor.uri:
        inc.fed.directory.gone(target)
