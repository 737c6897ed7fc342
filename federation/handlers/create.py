"""Create(Note): a remote post or comment, authored by the sender, on the sender's origin."""

from __future__ import annotations

from typing import Any

from federation.convert import NoteDoc
from federation.handlers import shares, spaces
from federation.handlers.base import Incoming
from federation.handlers.notes import (
    check_author,
    is_relevant,
    local_recipients,
    parse_note,
    rendered,
    with_recipients,
)
from federation.urls import same_origin
from node.errors import forbidden
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    obj = inc.object
    if not isinstance(obj, dict):
        return  # a bare reference: nothing we can trust without fetching; Mastodon embeds
    if obj.get("type") == "Share":
        await shares.granted(inc, obj)
        return
    if obj.get("type") not in ("Note", "Article", "Page", "Question"):
        return
    note = parse_note(obj)
    if not same_origin(note.ap_id, inc.actor.uri):
        raise forbidden("The object id is not on its author's origin.", "origin_mismatch")
    check_author(note, inc.actor.uri, "create")
    await note_created(inc, note, obj)


async def note_created(inc: Incoming, note: NoteDoc, obj: dict[str, Any]) -> None:
    """A checked note (`obj`, parsed) that is new here: a Create's, or an Update's that came
    before its Create."""
    if await spaces.create(inc, note, obj):
        return  # a member's post to one of our spaces

    # Whom it names here, and whether anyone here wants it, are read before the write turn (on
    # the loop's own reader), which is then held for the writes alone: the inbox's writes are
    # what the pod's processes wait on each other for.
    reader = inc.fed.db.inline
    recipients = await local_recipients(reader, inc.fed, note)
    relevant = await is_relevant(reader, inc.fed, inc.ident, note, recipients)
    if not relevant and not note.in_reply_to:
        return  # nobody here wants it: neither rendered nor written (relays send plenty)
    post = rendered(inc.fed, note, inc.actor)
    data = await with_recipients(reader, inc.fed, note, post, recipients)

    async def effect(tx: Tx) -> None:
        # Not wanted when read: it may answer a post stored since, so it is asked again.
        if relevant or await is_relevant(tx, inc.fed, inc.ident, note, data.recipients):
            await inc.fed.services.posts.remote_create(tx, inc.ident, data)

    await inc.apply(effect, remember=False)
