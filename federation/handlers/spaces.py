"""Spaces over federation (FEP-1b12). For our spaces: a Follow of the Group asks to join, Undo
leaves, a member's Create addressed to the Group is kept and relayed. For remote spaces one of
ours joined: the Group's Announce of a Create, Update or Delete brings the post here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from federation.client import FetchError
from federation.convert import NOTE_TYPES, InvalidDocument, NoteDoc, note_from_as, ref, type_of
from federation.groups import addressed, invite_code, message_of
from federation.handlers.base import Incoming
from federation.handlers.like import reaction_of
from federation.handlers.notes import check_author, parse_note, rendered, with_recipients
from federation.jsonld import normalize
from federation.urls import PUBLIC_ALIASES, same_origin
from node.errors import ApiError
from node.store import identities as identity_store
from node.store import interactions as interaction_store
from node.store import posts as post_store
from node.store import reactions as reaction_store
from node.store import remote_actors as actor_store
from node.store import spaces as space_store
from node.store.db import Tx
from node.store.spaces import Space

Handler = Callable[[Incoming], Awaitable[None]]


async def _nothing(tx: Tx) -> None:
    """Mark the activity seen without effect."""


# --- our spaces ---


async def follow(inc: Incoming, space_guid: str) -> None:
    """A remote identity follows one of our Groups: answered by the space's join mode."""
    space = await space_store.get(inc.fed.db, space_guid)
    if space is None or not space.local:
        await inc.apply(_nothing)
        return
    code, message = invite_code(inc.activity), message_of(inc.activity)

    async def effect(tx: Tx) -> None:
        await inc.fed.services.spaces.remote_follow(tx, space, inc.ident, inc.id, code, message)

    await inc.apply(effect)


async def create(inc: Incoming, note: NoteDoc, obj: dict[str, Any]) -> bool:
    """A member's Create addressed to one of our Groups, or their public reply to a post in
    one of our spaces; False when it is not one (a non-member's post is then an ordinary
    post)."""
    fed = inc.fed
    guid = next(
        (g for g in map(fed.urls.local_group_guid, addressed(obj) + addressed(inc.activity)) if g),
        None,
    )
    if guid is None and note.in_reply_to and _public(note):
        # Mastodon addresses a reply to whom it answers, not to the Group that relayed the
        # post: the thread's space is the reply's (as Lemmy reads it). Only a public one:
        # a direct or followers-only reply stays with those it names.
        parent = await post_store.by_ap_id(fed.db, note.in_reply_to)
        guid = parent.space_guid if parent is not None else None
    space = await space_store.get(fed.db, guid) if guid else None
    if (
        space is None
        or not space.local
        or await space_store.role(fed.db, space.guid, inc.ident.guid) is None
    ):
        return False

    post = rendered(fed, note, inc.actor)

    async def effect(tx: Tx) -> None:
        data = await with_recipients(tx, fed, note, post)
        await fed.services.spaces.remote_post(tx, space, inc.ident, data)  # members only

    await inc.apply(effect)
    return True


def with_relay(fallback: Handler) -> Handler:
    """Update or Delete: of a remote member's post in one of our spaces, applied here and
    relayed by the Group to the other members; anything else by `fallback`."""

    async def handle(inc: Incoming) -> None:
        fed = inc.fed
        obj = inc.object
        target = inc.object_ref
        post = await post_store.by_ap_id(fed.db, target) if target else None
        space = await space_store.get(fed.db, post.space_guid) if post and post.space_guid else None
        if (
            post is None
            or space is None
            or not space.local
            or post.local
            or post.author_guid != inc.ident.guid
            or not same_origin(post.ap_id, inc.actor.uri)
        ):
            await fallback(inc)
            return
        spaces = fed.services.spaces
        if inc.activity.get("type") == "Delete":

            async def delete(tx: Tx) -> None:
                await spaces.remote_delete(tx, space, inc.ident, post)

            await inc.apply(delete)
            return
        note = parse_note(obj)
        check_author(note, inc.actor.uri, "update")

        edited = rendered(fed, note, inc.actor)

        async def update(tx: Tx) -> None:
            await spaces.remote_update(
                tx, space, inc.ident, await with_recipients(tx, fed, note, edited)
            )

        await inc.apply(update)

    return handle


def with_leaving(fallback: Handler) -> Handler:
    """Undo: of a Follow of one of our Groups (leaving, or withdrawing an application) here,
    anything else by `fallback`."""

    async def handle(inc: Incoming) -> None:
        obj = inc.object
        follow_id = inc.object_ref
        kind = obj.get("type") if isinstance(obj, dict) else None
        if follow_id is None or kind not in (None, "Follow") or not await _joins(inc, follow_id):
            await fallback(inc)
            return

        async def effect(tx: Tx) -> None:
            await inc.fed.services.spaces.remote_leave(tx, inc.ident, follow_id)

        await inc.apply(effect)

    return handle


async def _joins(inc: Incoming, follow_id: str) -> bool:
    """Whether the Follow being undone was one of one of our Groups."""
    obj = inc.object
    target = ref(obj.get("object")) if isinstance(obj, dict) else None
    if target is not None:
        return inc.fed.urls.local_group_guid(target) is not None
    db = inc.fed.db
    return bool(
        await space_store.member_by_follow(db, follow_id)
        or await space_store.application_by_follow(db, follow_id)
    )


# --- remote spaces ---


async def announce(inc: Incoming) -> bool:
    """An Announce by a Group whose space we know or follow; False to leave it to reshares."""
    fed = inc.fed
    if inc.actor.actor_type != "Group":
        return False
    space = await space_store.by_actor(fed.db, inc.ident.guid)
    if space is None:
        if not await fed.db.fetchval(
            "SELECT 1 FROM follows WHERE followee_guid = ? AND state = 'accepted' LIMIT 1",
            (inc.ident.guid,),
        ):
            return False
        async with fed.db.transaction() as tx:
            space = await fed.services.spaces.remote_space(tx, inc.ident)
    obj = inc.object
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind == "Delete":
        target = ref(obj.get("object")) if isinstance(obj, dict) else None
        await _relayed_delete(inc, space, target)
        return True
    if not await space_store.member_count(fed.db, space.guid):
        await inc.apply(_nothing)  # nobody here belongs to it (any more)
        return True
    if kind in ("Create", "Update") and isinstance(obj, dict):
        note_ref: Any = obj.get("object")
    elif kind is None or kind in ("Note", "Article", "Page", "Question"):
        note_ref, kind = obj, "Create"
        if isinstance(obj, str) and await post_store.by_ap_id(fed.db, obj) is not None:
            await inc.apply(_nothing)  # the Group's boost of a post we have (from its Create)
            return True
    elif kind in ("Like", "EmojiReact", "Undo") and isinstance(obj, dict):
        await _relayed_interaction(inc, space, obj, kind)
        return True
    else:
        await inc.apply(_nothing)  # a relayed Follow, ...: nothing we keep
        return True
    checked = await _checked_note(inc, space, note_ref)
    if checked is None:
        await inc.apply(_nothing)
        return True
    note, from_origin = checked
    await inc.apply(await _relayed_effect(inc, space, note, kind, from_origin))
    return True


async def _relayed_effect(
    inc: Incoming, space: Space, note: NoteDoc, kind: str, from_origin: bool
) -> Callable[[Tx], Awaitable[None]]:
    """What keeping a note the Group relays writes (nothing for one of ours: the Group relays
    what we sent it, and our copy is the original)."""
    fed = inc.fed
    author = await fed.directory.resolve_uri(note.author)
    author_actor = await actor_store.by_identity(fed.db, author.guid)
    if author_actor is None:
        return _nothing

    post = rendered(fed, note, author_actor)

    async def effect(tx: Tx) -> None:
        data = await with_recipients(tx, fed, note, post)
        await fed.services.spaces.relayed_post(tx, space, author, data, kind, from_origin)

    return effect


async def _checked_note(inc: Incoming, space: Space, value: Any) -> tuple[NoteDoc, bool] | None:
    """The relayed note, if it is its author's, in this Group's space (addressed to the
    Group, or a public reply to a post of the space); and whether its own origin says so
    (rather than only the Group).

    A public note is fetched from its origin rather than taken from the Group; a members-only
    one cannot be (its origin would not show it to us), so the Group's copy is trusted, as the
    Group is where the space lives.
    """
    fed = inc.fed
    if isinstance(value, dict) and type_of(value) not in (None, *NOTE_TYPES):
        return None  # a PeerTube channel's Video, an Event...: nothing we show
    try:
        note = note_from_as(value) if isinstance(value, dict) else None
        # A note on the Group's own host is as its origin has it.
        from_origin = note is not None and same_origin(note.ap_id, inc.actor.uri)
        if note is None or (_public(note) and not same_origin(note.ap_id, inc.actor.uri)):
            uri = note.ap_id if note else value
            if not isinstance(uri, str):
                return None
            fetched = normalize(await fed.client.get_json(uri))
            if type_of(fetched) not in (None, *NOTE_TYPES):
                return None
            note = note_from_as(fetched)
            if note.ap_id != uri:
                return None
            if not await _in_space(inc, space, note, fetched):
                return None  # its author did not post it to this Group
            from_origin = True
            value = fetched
    except (FetchError, InvalidDocument, ValueError) as exc:
        raise ApiError(422, "unfetchable_object", "The relayed object cannot be used.") from exc
    if not same_origin(note.ap_id, note.author):
        raise ApiError(422, "origin_mismatch", "The relayed object is not from its author.")
    if not await _in_space(inc, space, note, value) or await post_store.is_tombstoned(
        fed.db, note.ap_id
    ):
        return None
    return note, from_origin


async def _in_space(inc: Incoming, space: Space, note: NoteDoc, doc: dict[str, Any]) -> bool:
    """Whether a note is in the Group's space: addressed to the Group, or a public reply to a
    post of the space (Mastodon addresses a reply to whom it answers, not to the Group)."""
    if inc.actor.uri in addressed(doc):
        return True
    if not note.in_reply_to or not _public(note):
        return False
    parent = await post_store.by_ap_id(inc.fed.db, note.in_reply_to)
    if parent is None:
        # Deliveries keep no order: the post it answers may reach us after it.
        parent = await _relayed_parent(inc, space, note.in_reply_to)
    return parent is not None and parent.space_guid == space.guid


async def _relayed_parent(inc: Incoming, space: Space, uri: str) -> post_store.Post | None:
    """The post a relayed reply answers, not here yet: taken from its origin and kept, as the
    Group's relay of it will be, if its author posted it to this Group (one level only: a
    reply to a reply not here yet is left, so no chain of fetches follows)."""
    fed = inc.fed
    try:
        doc = normalize(await fed.client.get_json(uri))
        note = note_from_as(doc)
        if (
            note.ap_id != uri
            or inc.actor.uri not in addressed(doc)
            or not same_origin(note.ap_id, note.author)
            or await post_store.is_tombstoned(fed.db, uri)
        ):
            return None
        effect = await _relayed_effect(inc, space, note, "Create", True)
    except (FetchError, InvalidDocument, ValueError, ApiError):
        return None
    async with fed.db.transaction() as tx:
        await effect(tx)
    return await post_store.by_ap_id(fed.db, uri)


def _public(note: NoteDoc) -> bool:
    return bool((set(note.to) | set(note.cc)) & PUBLIC_ALIASES)


async def _relayed_interaction(
    inc: Incoming, space: Space, inner: dict[str, Any], kind: str
) -> None:
    """A member's like or reaction of a post in the Group's space, or its Undo, relayed by the
    Group: taken as the member's, for a post of that space only. The Group vouches for who
    belongs to it (a members-only post is not readable to them here otherwise)."""
    fed = inc.fed
    actor_uri, inner_id, target = ref(inner.get("actor")), inner.get("id"), ref(inner.get("object"))
    if actor_uri is None or not isinstance(inner_id, str) or target is None:
        await inc.apply(_nothing)
        return
    if fed.urls.is_local(actor_uri):
        await inc.apply(_nothing)  # one of ours: we have it from them
        return
    actor = await fed.directory.resolve_uri(actor_uri)
    services = fed.services
    emoji = reaction_of(inner) if kind == "Like" else inner.get("content")

    async def effect(tx: Tx) -> None:
        if kind == "Undo":
            if await _undone_in(tx, target) != space.guid:
                return
            if not await services.reactions.remote_unreact(tx, actor, target):
                await services.posts.remote_undo_interaction(tx, actor, target)
        elif kind == "EmojiReact" or emoji is not None:
            if isinstance(emoji, str):
                await services.reactions.remote_react(
                    tx, actor, target, emoji, inner_id, in_space=space.guid
                )
        else:
            await services.posts.remote_interaction(
                tx, actor, "like", target, inner_id, in_space=space.guid
            )

    await inc.apply(effect)


async def _undone_in(tx: Tx, ap_id: str) -> str | None:
    """The space of the post a like or reaction (by its id) was of."""
    done = await reaction_store.by_ap_id(tx, ap_id) or await interaction_store.by_ap_id(tx, ap_id)
    post = await post_store.get(tx, done.post_guid) if done is not None else None
    return post.space_guid if post is not None else None


async def _relayed_delete(inc: Incoming, space: Space, target: str | None) -> None:
    async def effect(tx: Tx) -> None:
        post = await post_store.by_ap_id(tx, target) if target else None
        # The Group may remove what is in its space (moderation), never our own posts.
        if post is None or post.local or post.space_guid != space.guid:
            return
        author = await identity_store.get(tx, post.author_guid)
        assert author is not None
        await inc.fed.services.posts.remote_delete(tx, author, post.ap_id)

    await inc.apply(effect)
