"""Update of a Note by its author, or of the sender's own actor (profile, key rotation)."""

from __future__ import annotations

from federation.convert import (
    ACTOR_TYPES,
    InvalidDocument,
    actor_from_as,
    checked_markup,
    type_of,
)
from federation.handlers import create, shares
from federation.handlers.base import Incoming
from federation.handlers.notes import check_author, parse_note, rendered, with_recipients
from federation.urls import same_origin
from node.errors import ApiError, forbidden
from node.services.text import html_to_text, sanitize_html
from node.store import posts as post_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    obj = inc.object
    if not isinstance(obj, dict):
        return
    obj_id = obj.get("id")
    if obj.get("type") == "Share":
        await shares.updated(inc, obj)
        return
    local_post = inc.fed.urls.local_post_guid(obj_id) if isinstance(obj_id, str) else None
    if local_post is not None:
        # A grantee editing one of our posts through a share: the access check decides.
        posts = inc.fed.services.posts
        edit = await posts.prepare_edit_for(inc.ident.guid, local_post, _text_of(obj))

        async def edited(tx: Tx) -> None:
            await posts.edit_for_tx(tx, edit)

        await inc.apply(edited)
        return
    if not isinstance(obj_id, str) or not same_origin(obj_id, inc.actor.uri):
        raise forbidden("The object id is not on its author's origin.", "origin_mismatch")
    if type_of(obj) in ACTOR_TYPES:
        if obj_id != inc.actor.uri:
            raise forbidden("Only an actor may update itself.", "actor_mismatch")
        try:
            actor_from_as(obj)
        except InvalidDocument as exc:
            raise ApiError(422, "invalid_object", str(exc)) from None
        # Re-read the profile from its source rather than trusting the embedded copy.
        ident = await inc.fed.directory.refresh(inc.actor.uri)
        if obj.get("type") == "Group":
            # A space we know of: our record of it follows what its Group now says.
            async with inc.fed.db.transaction() as tx:
                await inc.fed.services.spaces.remote_group_updated(tx, ident)
        return
    note = parse_note(obj)
    check_author(note, inc.actor.uri, "update")
    if not await post_store.is_known(inc.fed.db.inline, note.ap_id):
        # Deliveries keep no order: an Update may come before its Create, and carries the whole
        # note; taken as its Create (as Mastodon does), or the post would be lost here.
        await create.note_created(inc, note, obj)
        return

    post = rendered(inc.fed, note, inc.actor)

    async def effect(tx: Tx) -> None:
        data = await with_recipients(tx, inc.fed, note, post)
        await inc.fed.services.posts.remote_update(tx, inc.ident, data)

    await inc.apply(effect)


def _text_of(obj: dict) -> str:
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return source["content"]
    content = obj.get("content")
    if not isinstance(content, str):
        return ""
    try:  # checked before anything else: anyone may send this, with a share or without
        return html_to_text(sanitize_html(checked_markup(content)))
    except InvalidDocument as exc:
        raise ApiError(422, "invalid_object", str(exc)) from None
