"""Announce: a reshare. Of our posts it is counted; of a post we don't have, the post is fetched
from its origin (never trusted from the announcer) and stored when someone here follows the
announcer."""

from __future__ import annotations

from federation.client import FetchError
from federation.convert import NOTE_TYPES, InvalidDocument, note_from_as, type_of
from federation.handlers import spaces
from federation.handlers.base import Incoming
from federation.handlers.notes import remote_post
from federation.jsonld import normalize
from federation.urls import same_origin
from node.errors import ApiError
from node.store import deliveries as delivery_store
from node.store import posts as post_store
from node.store import remote_actors as actor_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    if await spaces.announce(inc):
        return  # a Group relaying a post in its space (FEP-1b12)
    target = inc.object_ref
    if target is None:
        return
    fed = inc.fed
    known = await post_store.by_ap_id(fed.db, target)
    if known is None and fed.is_blocked(target):
        # Nothing is taken from a blocked domain, not even through someone else's reshare.
        await inc.apply(_nothing)
        return
    if known is None and not fed.urls.is_local(target):
        followed = await fed.db.fetchval(
            "SELECT 1 FROM follows WHERE followee_guid = ? AND state = 'accepted' LIMIT 1",
            (inc.ident.guid,),
        )
        if not followed or await post_store.is_tombstoned(fed.db, target):
            await inc.apply(_nothing)
            return
        if await delivery_store.was_seen(fed.db, inc.id):
            return  # a replay of one taken before (left as not shown, if it is not stored)
        try:
            fetched = normalize(await fed.client.get_json(target))
            kind = type_of(fetched)
            if kind is not None and kind not in NOTE_TYPES:
                # A PeerTube Video, an Event...: nothing we show. Taken as seen, so a replay
                # does not fetch it again; Mastodon too drops a reshare of what it cannot show.
                await inc.apply(_nothing)
                return
            note = note_from_as(fetched)
        except (FetchError, InvalidDocument, ValueError) as exc:
            raise ApiError(
                422, "unfetchable_object", "The announced object cannot be fetched."
            ) from exc
        if note.ap_id != target or not same_origin(note.author, note.ap_id):
            raise ApiError(422, "origin_mismatch", "The announced object is not from its author.")
        author = await fed.directory.resolve_uri(note.author)
        if author.domain is not None and fed.is_blocked(author.domain):
            # Its author's handle is on a blocked domain, its actor's host not (a split domain):
            # not taken either.
            await inc.apply(_nothing)
            return
        author_actor = await actor_store.by_identity(fed.db, author.guid)
        if author_actor is None:
            raise ApiError(422, "unfetchable_object", "The announced object's author is unknown.")
        data = await remote_post(fed.db, fed, note, author_actor)
        if data.visibility != "public":
            return

        async def store_and_count(tx: Tx) -> None:
            await fed.services.posts.remote_create(tx, author, data)
            await fed.services.posts.remote_interaction(tx, inc.ident, "reshare", target, inc.id)

        await inc.apply(store_and_count)
        return

    async def effect(tx: Tx) -> None:
        await fed.services.posts.remote_interaction(tx, inc.ident, "reshare", target, inc.id)

    await inc.apply(effect)


async def _nothing(tx: Tx) -> None:
    """Mark the activity seen without effect, so a replay does not fetch again."""
