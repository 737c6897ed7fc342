"""Turning a checked remote Note into the RemotePost the post service stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from federation.context import Federation
from federation.convert import AttachmentDoc, InvalidDocument, NoteDoc, note_from_as
from node.clock import iso, parse_iso
from node.errors import ApiError, forbidden
from node.services.posts import RemotePost
from node.services.rules import has_visible
from node.services.text import html_to_text, sanitize_html
from node.store import identities as identity_store
from node.store import posts as post_store
from node.store.db import Queryable
from node.store.identities import Identity
from node.store.media import Attachment
from node.store.remote_actors import RemoteActor


def _published(value: str | None, now: datetime) -> str:
    try:
        when = parse_iso(value) if value else now
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        when = now
    return iso(min(when, now))  # a post from the future would pin itself to the top


def _updated(value: str | None, now: datetime) -> str | None:
    """When a note was last edited (None: its pod does not say), never after now."""
    return _published(value, now) if value else None


async def local_recipients(
    q: Queryable, fed: Federation, note: NoteDoc, uris: list[str] | None = None
) -> list[Identity]:
    """The local identities a note names, each once (`a?1` and `A` are one user): one query."""
    names = map(fed.urls.local_username, uris if uris is not None else [*note.to, *note.cc])
    return await identity_store.local_by_usernames(q, [n for n in names if n])


async def remote_post(
    q: Queryable, fed: Federation, note: NoteDoc, author: RemoteActor
) -> RemotePost:
    return await with_recipients(q, fed, note, rendered(fed, note, author))


def rendered(fed: Federation, note: NoteDoc, author: RemoteActor) -> RemotePost:
    """The note as we store it, but for whom here it names (`with_recipients`): the sanitising done
    before a write transaction, which then holds the write lock only for its statements."""
    safe = sanitize_html(note.content_html)
    warning = html_to_text(sanitize_html(note.summary_html)) if note.summary_html else ""
    # Nothing a reader can see (zero-width characters, say) is no warning, as for our own posts.
    warning = warning[: post_store.MAX_CONTENT_WARNING].rstrip() if has_visible(warning) else ""
    now = fed.clock.now()
    published = _published(note.published, now)
    return RemotePost(
        ap_id=note.ap_id,
        html=safe,
        text=html_to_text(safe),
        visibility=note.visibility(author.followers),
        in_reply_to=note.in_reply_to,
        published=published,
        updated=_updated(note.updated, now),
        recipients=[],
        attachments=[_attachment(a) for a in note.attachments],
        tags=[] if note.unlisted else list(note.hashtags),  # in no hashtag stream then
        content_warning=warning,
        sensitive=note.sensitive or bool(warning),
    )


async def with_recipients(
    q: Queryable,
    fed: Federation,
    note: NoteDoc,
    post: RemotePost,
    recipients: list[Identity] | None = None,
) -> RemotePost:
    """`post` (from `rendered`) with the identities here its note addresses (`recipients`
    when already read) and mentions."""
    return replace(
        post,
        recipients=recipients if recipients is not None else await local_recipients(q, fed, note),
        mentions=await local_recipients(q, fed, note, list(note.mentions)),
    )


def _attachment(doc: AttachmentDoc) -> Attachment:
    # Kept as the remote pod describes it; its bytes stay where they are (clients load the URL).
    return Attachment(
        kind=doc.kind,
        media_type=doc.media_type,
        url=doc.url,
        blob_hash=None,
        media_guid=None,
        width=doc.width,
        height=doc.height,
        blurhash=doc.blurhash,
        description=doc.name,
    )


async def is_relevant(
    q: Queryable, fed: Federation, author: Identity, note: NoteDoc, recipients: list[Identity]
) -> bool:
    """Store only what someone here can see: from someone followed, to us, or a reply to ours."""
    if recipients or fed.followed.knows(author.guid):
        return True
    if await q.fetchval(
        "SELECT 1 FROM follows WHERE followee_guid = ? AND state = 'accepted' LIMIT 1",
        (author.guid,),
    ):
        fed.followed.remember(author.guid)
        return True
    return bool(note.in_reply_to and await post_store.by_ap_id(q, note.in_reply_to))


def parse_note(obj: Any) -> NoteDoc:
    """An embedded Note, or 422 with the reason."""
    try:
        return note_from_as(obj)
    except InvalidDocument as exc:
        raise ApiError(422, "invalid_object", str(exc)) from None


def check_author(note: NoteDoc, actor_uri: str, verb: str) -> None:
    if note.author != actor_uri:
        raise forbidden(f"Only the author may {verb} an object.", "actor_mismatch")
