"""Posts: create, read, edit, delete, like and reshare; the main stream; remote posts arriving."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from node.clock import Clock, iso
from node.errors import ApiError, forbidden, not_found, validation
from node.ids import new_guid
from node.services.access import Access, require_private_modify
from node.services.composer import Composed, Composer
from node.services.handles import find_identity
from node.services.lookups import each_at_once
from node.services.media import MAX_ATTACHMENTS, as_attachment, ready_media
from node.services.notify import Notifier
from node.services.ports import Directory, Publisher
from node.services.principal import PRIVATE_MODIFY, Principal
from node.services.rules import has_visible
from node.services.spaces import relaying_space, space_to_post_in
from node.services.viewer_marks import ViewerMarksCache
from node.store import identities as identity_store
from node.store import interactions as interaction_store
from node.store import labels as label_store
from node.store import media as media_store
from node.store import posts as post_store
from node.store.db import Database, Tx
from node.store.identities import Identity
from node.store.interactions import Interaction
from node.store.media import Attachment
from node.store.paging import Page, PageRequest
from node.store.posts import (
    MAX_CONTENT_WARNING,
    Post,
    PostFacts,
    PostRef,
    PostStats,
    ViewerMark,
)

MAX_BODY = 20_000
MAX_RECIPIENTS = 50
VISIBILITIES = ("public", "followers", "direct", "space")
# Outside spaces, from the widest audience to the narrowest.
_AUDIENCE = ("public", "followers", "direct")


@dataclass(frozen=True)
class PostView:
    post: Post
    author: Identity
    stats: PostStats
    liked: bool
    reshared: bool
    label_ids: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    author_avatar: Attachment | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    my_reaction: str | None = None
    bookmarked: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PageMarks:
    """For a page of posts: each post's stamp (absent: the post is gone), and what only the
    viewer sees: what they did with it (absent: nothing) and their labels on their own."""

    stamps: dict[str, str]
    marks: dict[str, ViewerMark]
    labels: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class RemotePost:
    """A post as a remote pod describes it, already checked and sanitised by federation."""

    ap_id: str
    html: str
    text: str
    visibility: str
    in_reply_to: str | None
    published: str
    recipients: list[Identity]
    attachments: list[Attachment] = field(default_factory=list)  # remote URLs, never fetched
    mentions: list[Identity] = field(default_factory=list)  # ours, named in its Mention tags
    tags: list[str] = field(default_factory=list)
    space_guid: str | None = None  # set by the space service for posts in a space
    content_warning: str = ""  # plain text
    sensitive: bool = False  # true whenever there is a warning
    updated: str | None = None  # when its author last edited it, if its pod says


@dataclass(frozen=True)
class EditFor:
    """An edit by a grantee, checked and composed, for `edit_for_tx` to apply."""

    editor_guid: str
    guid: str
    body: str | None
    composed: Composed | None


def _reply_visibility(asked: str | None, parent: Post) -> str:
    """A reply's visibility: its post's when not asked for, and never wider than it (a reply
    to a followers-only post shown to everyone would show what it answers)."""
    if parent.visibility not in _AUDIENCE:
        return asked or "public"
    if asked is None:
        return parent.visibility
    if _AUDIENCE.index(asked) < _AUDIENCE.index(parent.visibility):
        raise validation(
            {"visibility": f"a reply is seen by no more people than its post ({parent.visibility})"}
        )
    return asked


def check_body(body: str | None) -> None:
    """An edit's new text, if any, is not blank and not too long."""
    if body is not None and (not has_visible(body) or len(body) > MAX_BODY):
        raise validation({"body": f"1 to {MAX_BODY} characters"})


def _check_warning(text: str | None) -> str | None:
    """A content warning as given (None: not given) as it is kept: stripped, '' for none (or
    for one of nothing a reader sees), and not too long."""
    if text is not None:
        text = text.strip() if has_visible(text) else ""
        if len(text) > MAX_CONTENT_WARNING:
            raise validation({"contentWarning": f"at most {MAX_CONTENT_WARNING} characters"})
    return text


def _edited_warning(
    post: Post, text: str | None, sensitive: bool | None
) -> tuple[str, bool] | None:
    """A post's warning and sensitive flag after an edit, or None when the edit gives neither.
    As Mastodon has it: an edit giving either sets the flag to what it gives (false when not
    given), and a warning always sets it."""
    if text is None and sensitive is None:
        return None
    text = post.content_warning if text is None else text
    return text, bool(sensitive) or bool(text)


class PostService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        access: Access,
        publisher: Publisher,
        directory: Directory,
        our_host: str,
        viewer_marks: ViewerMarksCache,
    ) -> None:
        self._db = db
        self._access = access
        self._clock = clock
        self._publisher = publisher
        self._directory = directory
        self._host = our_host
        self._composer = Composer(db, publisher, directory, our_host)
        self._notify = Notifier(clock)
        self._last_stamp: datetime | None = None
        self._viewer_marks = viewer_marks

    def _stamp(self) -> str:
        # Strictly increasing creation times keep "newest first" exact within one pod.
        now = self._clock.now()
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return iso(now)

    # --- reading ---

    async def views(
        self, posts: list[Post], viewer: str | None, private: bool = True
    ) -> list[PostView]:
        """`private`: with the viewer's private data (their bookmarks and labels)."""
        if not posts:
            return []
        guids = [p.guid for p in posts]
        author_guids = list(dict.fromkeys(p.author_guid for p in posts))
        # Independent reads, run side by side on the reader connections.
        db = self._db.inline  # a page's worth of point reads: cheaper here than in a thread
        facts = await post_store.facts(db, guids, viewer)
        # Labels are private: only the viewer's own posts show theirs.
        own = [p.guid for p in posts if p.author_guid == viewer] if private else []
        labels = await label_store.of_posts(db, own)
        authors = await identity_store.get_many(db, author_guids)
        attachments = await media_store.attachments_of(db, guids)
        avatars = await media_store.avatars_of(db, author_guids)
        none = PostFacts(PostStats(0, 0, 0), {}, [], False, False, None, False)
        views = []
        for p in posts:
            f = facts.get(p.guid, none)
            views.append(
                PostView(
                    p,
                    authors[p.author_guid],
                    f.stats,
                    f.liked,
                    f.reshared,
                    sorted(labels.get(p.guid, [])),
                    attachments.get(p.guid, []),
                    avatars.get(p.author_guid),
                    f.reactions,
                    f.my_reaction,
                    f.bookmarked and private,
                    f.tags,
                )
            )
        return views

    async def view(self, post: Post, who: Principal) -> PostView:
        """The post as `who` sees it, with their private data if the token may read it."""
        return (await self.views([post], who.identity_guid, not who.public_only))[0]

    async def marks(self, refs: list[PostRef], who: Principal) -> PageMarks:
        """The stamp of what everyone sees of each post, and what only the viewer sees (without
        their bookmarks and labels if the token may not read private data)."""
        db = self._db.inline
        viewer = who.identity_guid
        stamps = {r.guid: r.stamp for r in refs if r.stamp is not None}
        if len(stamps) < len(refs):
            lacking = [r.guid for r in refs if r.stamp is None]
            stamps.update(await post_store.stamps(db, lacking))
        rev = refs[0].marks_rev
        if rev is None:
            rev = await post_store.marks_rev(db, viewer)
        known = self._viewer_marks.of(viewer, rev)
        unknown = [g for g in stamps if g not in known]
        if unknown:
            known.update(await post_store.viewer_marks(db, unknown, viewer))
        if who.public_only:
            shown = {g: known[g]._replace(bookmarked=False) for g in stamps if g in known}
            return PageMarks(stamps, shown, {})
        labels: dict[str, tuple[str, ...]] = {}
        own = [r.guid for r in refs if r.author_guid == viewer and r.guid in stamps]
        if own:
            found = await label_store.of_posts(db, own)
            labels = {guid: tuple(sorted(ids)) for guid, ids in found.items()}
        return PageMarks(stamps, known, labels)

    async def views_of(self, guids: list[str], viewer: str | None) -> list[PostView]:
        """Views of posts by guid (those that still exist), in no particular order."""
        return await self.views(await post_store.get_many(self._db.inline, guids), viewer)

    async def get(self, who: Principal, guid: str) -> PostView:
        post = await self._access.post_for(self._db, who, guid)
        return await self.view(post, who)

    async def get_for(self, viewer: str | None, guid: str) -> Post:
        """A post as seen by an identity (local or remote) or anonymously; 404 if not visible."""
        return await self._access.post(self._db, viewer, guid)

    async def main_stream(self, who: Principal, page: PageRequest) -> tuple[list[PostRef], Page]:
        return await post_store.main_stream(
            self._db.inline, who.identity_guid, self._access.now(), page, who.public_only
        )

    async def by_author(
        self, who: Principal, author_guid: str, page: PageRequest
    ) -> tuple[list[PostRef], Page]:
        return await post_store.by_author(
            self._db,
            author_guid,
            who.identity_guid,
            self._access.now(),
            page,
            shape=post_store.REFS,
            public_only=who.public_only,
        )

    async def shared(
        self, viewer: str, share_guid: str, page: PageRequest
    ) -> tuple[list[Post], Page]:
        """What a share covers, limited to what the viewer may read now."""
        return await post_store.shared_with(self._db, share_guid, viewer, self._access.now(), page)

    # --- writing ---

    async def create(
        self,
        who: Principal,
        body: str,
        visibility: str | None,
        recipients: list[str],
        in_reply_to: str | None = None,
        label_ids: list[str] | None = None,
        attachment_ids: list[str] | None = None,
        space_id: str | None = None,
        content_warning: str | None = None,
        sensitive: bool = False,
    ) -> PostView:
        problems: dict[str, str] = {}
        attachment_ids = attachment_ids or []
        warning = _check_warning(content_warning) or ""
        if not has_visible(body) and not attachment_ids:  # a picture alone is a post
            problems["body"] = "must not be empty"
        elif len(body) > MAX_BODY:
            problems["body"] = f"at most {MAX_BODY} characters"
        if visibility is not None and visibility not in VISIBILITIES:
            problems["visibility"] = f"one of {', '.join(VISIBILITIES)}"
        if len(recipients) > MAX_RECIPIENTS:
            problems["recipients"] = f"at most {MAX_RECIPIENTS}"
        if len(attachment_ids) > MAX_ATTACHMENTS:
            problems["attachmentIds"] = f"at most {MAX_ATTACHMENTS}"
        if problems:
            raise validation(problems)
        if label_ids:
            await self._check_labels(who, label_ids)
        parent = None
        if in_reply_to:
            parent = await self._access.post_for(self._db, who, in_reply_to, needed_to="reply to")
        # A post in a space (a reply stays in its parent's) takes the space's visibility:
        # public in a public space, members only ('space') in a private one.
        space_guid = space_id or (parent.space_guid if parent else None)
        space = None
        if space_guid:
            space = await space_to_post_in(self._db, who.identity_guid, space_guid)
        if space is not None:
            if parent is not None and parent.space_guid != space.guid:
                raise validation({"inReplyTo": "the post is not in this space"})
            if recipients:
                raise validation({"recipients": "a post in a space has no recipients"})
            visibility = "public" if space.public else "space"
        elif visibility == "space":
            raise validation({"spaceId": "a space post needs the space"})
        elif parent is not None:
            visibility = _reply_visibility(visibility, parent)
            if visibility == "direct" and not recipients:
                recipients = await self._thread_people(parent, who.identity_guid)
        visibility = visibility or "public"
        require_private_modify(who, visibility, "write")
        targets = await each_at_once(
            recipients, lambda r: find_identity(self._db, self._directory, self._host, r)
        )
        composed = await self._composer.compose(body)
        if visibility in ("direct", "followers"):
            # Mentioning someone addresses the post to them too (as federation does: they are
            # in its cc), so whoever is named and notified may read it.
            known = {t.guid for t in targets}
            targets += [m for m in composed.mentions if m.guid not in known]
            if visibility == "followers" and parent is not None:
                # A followers-only reply also reaches whom it answers, who may not follow.
                known |= {t.guid for t in targets}
                if parent.author_guid not in known and parent.author_guid != who.identity_guid:
                    answered = await identity_store.get(self._db, parent.author_guid)
                    targets += [answered] if answered is not None else []
        if visibility == "direct" and not targets:
            raise validation({"recipients": "a direct post needs a recipient or a mention"})
        author = await identity_store.get(self._db, who.identity_guid)
        assert author is not None
        guid = new_guid()
        now = self._stamp()
        post = Post(
            guid=guid,
            author_guid=author.guid,
            ap_id=self._publisher.post_id(guid),
            local=True,
            body=body,
            html=composed.html,
            visibility=visibility,
            in_reply_to_guid=parent.guid if parent else None,
            in_reply_to_ap_id=parent.ap_id if parent else None,
            created_at=now,
            updated_at=now,
            space_guid=space.guid if space else None,
            content_warning=warning,
            sensitive=sensitive or bool(warning),
        )
        async with self._db.transaction() as tx:
            if parent is not None:
                # Read again, as the space below: the post may have gone meanwhile.
                await self._access.post_for(tx, who, parent.guid, needed_to="reply to")
            if space is not None:
                # Read again: resolving mentions may have taken a while, and meanwhile the
                # space may have gone private or the author left it.
                space = await space_to_post_in(tx, who.identity_guid, space.guid)
                post = replace(post, visibility="public" if space.public else "space")
                require_private_modify(who, post.visibility, "write")
            # Checked in the transaction: the media cannot be deleted between check and use.
            media = await ready_media(tx, who.identity_guid, attachment_ids, "attachmentIds")
            await post_store.insert(tx, post, [t.guid for t in targets])
            await label_store.set_for_post(tx, post.guid, label_ids or [])
            await media_store.attach(tx, post.guid, [as_attachment(m) for m in media], new=True)
            await self._settle(tx, post, [m.guid for m in composed.mentions], composed.tags)
            await self._publisher.post_created(tx, post, author)
        return await self.view(post, who)

    async def _thread_people(self, parent: Post, replier: str) -> list[str]:
        """Whom a direct reply goes to when it names no one: its post's author and people."""
        people = [parent.author_guid, *await post_store.recipients(self._db, parent.guid)]
        return [g for g in dict.fromkeys(people) if g != replier]

    async def _settle(self, tx: Tx, post: Post, mentions: list[str], tags: list[str]) -> None:
        """What a new post (local or remote) sets off: mentions, hashtags, its thread's
        activity, and notifications for whom it mentions or answers."""
        await post_store.set_mentions(tx, post.guid, mentions, new=True)
        await post_store.set_tags(tx, post.guid, tags, new=True)
        parent = None
        if post.in_reply_to_guid:
            await post_store.bump_activity(tx, post.in_reply_to_guid, post.created_at)
            parent = await post_store.get(tx, post.in_reply_to_guid)
        # The author a reply answers is told of a comment; of a local one that names them, once,
        # as a mention. Replies from other pods mention whom they answer to address them (ours
        # do too), so from there it is a comment all the same. Nobody is told of a post they
        # may not read (a mention in a private space's post).
        answered = parent.author_guid if parent is not None else None
        if post.local and answered in mentions:
            answered = None
        for guid in mentions:
            if guid != answered and await self._access.may(tx, guid, post.guid, "can_read"):
                await self._notify(tx, guid, "mention", post.author_guid, post.guid)
        if answered is not None:
            await self._tell_answered(tx, post, answered)

    async def _tell_answered(self, tx: Tx, reply: Post, answered: str) -> None:
        """Tell the author a reply answers of it, if they may read it."""
        if await self._access.may(tx, answered, reply.guid, "can_read"):
            await self._notify(tx, answered, "comment", reply.author_guid, reply.guid)

    async def _check_labels(self, who: Principal, label_ids: list[str]) -> None:
        # Labels are private: setting a post's (even to none) needs private:modify.
        who.require(PRIVATE_MODIFY, "label posts")
        # Someone else's label ids are refused like unknown ones: never a leak.
        if set(label_ids) - await label_store.owned(self._db, who.identity_guid, label_ids):
            raise validation({"labelIds": "unknown labels"})

    async def edit(
        self,
        who: Principal,
        guid: str,
        body: str | None,
        label_ids: list[str] | None = None,
        content_warning: str | None = None,
        sensitive: bool | None = None,
    ) -> PostView:
        """Change a post's text and content warning (its author, or a grantee with can_write)
        or its labels (author), as the token's scopes allow."""
        check_body(body)
        text = _check_warning(content_warning)
        post = await self._access.post_for(self._db, who, guid, "can_write", needed_to="change")
        if label_ids is not None:
            if post.author_guid != who.identity_guid:
                raise forbidden("Only the author labels a post.")
            await self._check_labels(who, label_ids)
        warning = _edited_warning(post, text, sensitive)
        composed = await self._composer.compose(body) if body is not None else None
        async with self._db.transaction() as tx:
            # Read again: the post may have gone while its text was composed.
            post = await self._access.post_for(tx, who, guid, "can_write", needed_to="change")
            post = await self._edit_tx(tx, post, body, composed, label_ids, warning)
        return await self.view(post, who)

    async def edit_for(self, editor_guid: str, guid: str, body: str | None) -> Post:
        """Change a post's text for an identity (local or remote) with can_write on it."""
        edit = await self.prepare_edit_for(editor_guid, guid, body)
        async with self._db.transaction() as tx:
            return await self.edit_for_tx(tx, edit)

    async def prepare_edit_for(self, editor_guid: str, guid: str, body: str | None) -> EditFor:
        """What `edit_for_tx` applies: checked (403/404 now) and composed outside the writer,
        as composing may look mentioned people up on their pods."""
        check_body(body)
        await self._access.post(self._db, editor_guid, guid, "can_write")
        composed = await self._composer.compose(body) if body is not None else None
        return EditFor(editor_guid, guid, body, composed)

    async def edit_for_tx(self, tx: Tx, edit: EditFor) -> Post:
        """`edit_for` in the caller's transaction (the inbox's, with its dedupe mark)."""
        post = await self._access.post(tx, edit.editor_guid, edit.guid, "can_write")
        return await self._edit_tx(tx, post, edit.body, edit.composed, None)

    async def _edit_tx(
        self,
        tx: Tx,
        post: Post,
        body: str | None,
        composed: Composed | None,
        label_ids: list[str] | None,
        warning: tuple[str, bool] | None = None,
    ) -> Post:
        if label_ids is not None:
            await label_store.set_for_post(tx, post.guid, label_ids)
        if body is None and warning is None:
            return post
        now = iso(self._clock.now())
        if body is not None and composed is not None:
            await post_store.update_content(tx, post.guid, body, composed.html, now)
            await post_store.set_mentions(tx, post.guid, [m.guid for m in composed.mentions])
            await self._notify.forget_unmentioned(tx, post.guid)
            await post_store.set_tags(tx, post.guid, composed.tags)
        if warning is not None:
            await post_store.set_warning(tx, post.guid, *warning, now)
        updated = await post_store.get(tx, post.guid)
        author = await identity_store.get(tx, post.author_guid)
        assert updated is not None and author is not None
        if post.local:
            # The author's pod speaks for the post, whoever changed it here.
            await self._publisher.post_updated(tx, updated, author)
        return updated

    async def delete(self, who: Principal, guid: str) -> None:
        """Delete a post (its author, or a grantee with can_delete), as the token's scopes allow."""
        async with self._db.transaction() as tx:
            # In the transaction: a post deleted twice at once is gone for the second (404).
            post = await self._access.post_for(tx, who, guid, "can_delete", needed_to="delete")
            await self.delete_in(tx, post)

    async def delete_for(self, deleter_guid: str, guid: str) -> None:
        """Delete a post for an identity (local or remote) with can_delete on it."""
        async with self._db.transaction() as tx:
            await self.delete_for_tx(tx, deleter_guid, guid)

    async def delete_for_tx(self, tx: Tx, deleter_guid: str, guid: str) -> None:
        """`delete_for` in the caller's transaction (the inbox's, with its dedupe mark)."""
        await self.delete_in(tx, await self._access.post(tx, deleter_guid, guid, "can_delete"))

    async def delete_in(self, tx: Tx, post: Post) -> None:
        """Delete a post within `tx`: one of ours is deleted for everyone it reached (a Delete),
        any post leaves a tombstone."""
        author = await identity_store.get(tx, post.author_guid)
        assert author is not None
        if post.local:
            # The publisher reads the audience before the post and its rows are gone.
            await self._publisher.post_deleted(tx, post, author)
        await self._remove(tx, post)

    async def _remove(self, tx: Tx, post: Post) -> None:
        """Delete a post and its notifications, leaving a tombstone."""
        await self._notify.forget_post(tx, post.guid)
        await post_store.delete(tx, post, iso(self._clock.now()))

    async def interact(self, who: Principal, guid: str, kind: str) -> PostView:
        async with self._db.transaction() as tx:
            # Checked in the transaction: a post deleted meanwhile is 404, not a broken row.
            post = await self._access.post_for(tx, who, guid, needed_to=kind)
            if kind == "reshare" and post.visibility not in ("public",):
                raise ApiError(422, "not_reshareable", "Only public posts can be reshared.")
            item_guid = new_guid()
            item = Interaction(
                item_guid,
                kind,
                post.guid,
                who.identity_guid,
                self._publisher.activity_id(item_guid),
                iso(self._clock.now()),
            )
            if await interaction_store.insert(tx, item):
                actor = await identity_store.get(tx, who.identity_guid)
                assert actor is not None
                await self._interacted(tx, item, post)
                await self._publisher.interaction(tx, item, post, actor)
        return await self.view(post, who)

    async def undo_interaction(self, who: Principal, guid: str, kind: str) -> PostView:
        post = await self._access.post_for(self._db, who, guid, needed_to=f"undo a {kind} on")
        async with self._db.transaction() as tx:
            item = await interaction_store.find(tx, kind, post.guid, who.identity_guid)
            if item is None:
                raise not_found("Like" if kind == "like" else "Reshare")
            await interaction_store.delete(tx, item.guid)
            await self._notify.forget(tx, item.guid)
            actor = await identity_store.get(tx, who.identity_guid)
            assert actor is not None
            await self._publisher.interaction_undone(tx, item, post, actor)
        return await self.view(post, who)

    async def _interacted(self, tx: Tx, item: Interaction, post: Post) -> None:
        await post_store.bump_activity(tx, post.guid, item.created_at)
        await self._notify(tx, post.author_guid, item.kind, item.identity_guid, item.guid,
                           post=post.guid)  # fmt: skip

    # --- what remote pods tell us (called by the inbox inside its transaction) ---

    async def remote_create(self, tx: Tx, author: Identity, data: RemotePost) -> Post | None:
        if await post_store.is_known(tx, data.ap_id):
            return None
        parent = await post_store.by_ap_id(tx, data.in_reply_to) if data.in_reply_to else None
        if parent is not None and not await self._may_answer(
            tx, author.guid, parent, data.space_guid
        ):
            # Kept as an answer to a post it may not see: not linked to it, nobody told.
            parent = None
        post = Post(
            guid=new_guid(),
            author_guid=author.guid,
            ap_id=data.ap_id,
            local=False,
            body=data.text,
            html=data.html,
            visibility=data.visibility,
            in_reply_to_guid=parent.guid if parent else None,
            in_reply_to_ap_id=data.in_reply_to,
            created_at=data.published,
            # An edited version (its Update came first): older edits arriving later are stale.
            updated_at=max(data.updated or data.published, data.published),
            space_guid=data.space_guid,
            content_warning=data.content_warning,
            sensitive=data.sensitive,
        )
        await post_store.insert(tx, post, [r.guid for r in data.recipients])
        await media_store.attach(tx, post.guid, data.attachments, new=True)
        await self._settle(tx, post, [m.guid for m in data.mentions], data.tags)
        await self._adopt(tx, post)
        return post

    async def _adopt(self, tx: Tx, post: Post) -> None:
        """Replies that reached us before `post` (deliveries between pods keep no order) join
        it now, each only if it would have joined with the post here first: a reply refused
        then stays apart. A local post is never late, so only remote ones look."""
        for reply in await post_store.waiting_replies(tx, post.ap_id):
            await self._join(tx, reply, post)

    async def filed_in_space(self, tx: Tx, guid: str) -> None:
        """A remote post we had is filed in its space now (its Group relayed it): a reply kept
        apart from a post of the space, as it came from elsewhere first, joins it."""
        post = await post_store.get(tx, guid)
        if post is None or post.in_reply_to_guid is not None or not post.in_reply_to_ap_id:
            return
        parent = await post_store.by_ap_id(tx, post.in_reply_to_ap_id)
        if parent is not None:
            await self._join(tx, post, parent)

    async def _join(self, tx: Tx, reply: Post, parent: Post) -> None:
        """Link a stored reply to its post, with what an in-order one sets off, if it would
        have joined it on arrival."""
        if not await self._may_answer(tx, reply.author_guid, parent, reply.space_guid):
            return
        await post_store.link_reply(tx, reply.guid, parent.guid)
        await post_store.bump_activity(tx, parent.guid, reply.created_at)
        await self._tell_answered(tx, reply, parent.author_guid)

    async def _may_answer(
        self, tx: Tx, author_guid: str, parent: Post, space_guid: str | None
    ) -> bool:
        """Whether a remote reply joins its post's thread, as a local one would (403 or 404
        otherwise): a space's threads grow only through the space's Group."""
        if parent.space_guid is not None:
            return parent.space_guid == space_guid
        return await self._access.may(tx, author_guid, parent.guid, "can_read")

    async def remote_update(self, tx: Tx, author: Identity, data: RemotePost) -> bool:
        post = await post_store.by_ap_id(tx, data.ap_id)
        if post is None or post.author_guid != author.guid:
            return False
        edited = post.updated_at != post.created_at
        if edited and data.updated is not None and data.updated < post.updated_at:
            # Deliveries keep no order: an older edit arriving after a newer one is stale (an
            # equal one is taken again, as Mastodon takes a poll's new counts). A first edit
            # always is: a note without its publication time was stored as published on arrival.
            return False
        now = data.updated or iso(self._clock.now())
        await post_store.update_content(tx, post.guid, data.text, data.html, now)
        await post_store.set_warning(tx, post.guid, data.content_warning, data.sensitive, now)
        await media_store.attach(tx, post.guid, data.attachments)  # an Update carries them all
        await post_store.set_mentions(tx, post.guid, [m.guid for m in data.mentions])
        await self._notify.forget_unmentioned(tx, post.guid)
        await post_store.set_tags(tx, post.guid, data.tags)
        return True

    async def remote_delete(self, tx: Tx, author: Identity, ap_id: str) -> bool:
        post = await post_store.by_ap_id(tx, ap_id)
        if post is None:
            # Remember it anyway, so a late Create cannot bring it back.
            await tx.execute(
                "INSERT OR IGNORE INTO tombstones VALUES (?, ?)", (ap_id, iso(self._clock.now()))
            )
            return False
        if post.author_guid != author.guid:
            return False
        await self._remove(tx, post)
        return True

    async def remote_author_deleted(self, tx: Tx, author: Identity) -> None:
        """A remote actor deleted itself: all its posts go, each leaving a tombstone, in a few
        statements however many posts it had (the writer is held meanwhile); so do its likes
        and reshares, and whatever it caused to be told."""
        await self.remove_all(tx, post_store.BY_AUTHOR, author.guid)
        await self._notify.forget_from(tx, author.guid)
        await interaction_store.delete_by(tx, author.guid)

    async def remove_all(self, tx: Tx, where: str, param: str) -> None:
        """Delete every post `where` holds (node.store.posts) here only, each leaving a
        tombstone: a few statements whatever their number, and nothing is sent."""
        await self._notify.forget_posts(tx, where, param)
        await post_store.delete_all(tx, where, param, iso(self._clock.now()))

    async def remote_interaction(
        self,
        tx: Tx,
        actor: Identity,
        kind: str,
        post_ap_id: str,
        ap_id: str,
        in_space: str | None = None,
    ) -> bool:
        """A remote like or reshare. `in_space`: the remote space whose Group relayed it, and
        vouches for the actor's membership; only a post in that space is taken then."""
        post = await post_store.by_ap_id(tx, post_ap_id)
        if post is None:
            return False
        if in_space is not None:
            if post.space_guid != in_space:
                return False  # the Group speaks for no one outside its space
        elif not await self._access.may(tx, actor.guid, post.guid, "can_read"):
            return False
        if kind == "reshare" and post.visibility != "public":
            return False  # as for a local reshare: only public posts travel further
        item = Interaction(new_guid(), kind, post.guid, actor.guid, ap_id, iso(self._clock.now()))
        if not await interaction_store.insert(tx, item):
            return False
        await self._interacted(tx, item, post)
        await self._relay(tx, post, actor, item, False)
        return True

    async def remote_undo_interaction(self, tx: Tx, actor: Identity, ap_id: str) -> bool:
        item = await interaction_store.by_ap_id(tx, ap_id)
        if item is None or item.identity_guid != actor.guid:
            return False
        await interaction_store.delete(tx, item.guid)
        await self._notify.forget(tx, item.guid)
        post = await post_store.get(tx, item.post_guid)
        if post is not None:
            await self._relay(tx, post, actor, item, True)
        return True

    async def _relay(
        self, tx: Tx, post: Post, actor: Identity, item: Interaction, undone: bool
    ) -> None:
        """A member's like of a post in one of our spaces goes on to the other members."""
        space = await relaying_space(tx, post, actor.guid) if item.kind == "like" else None
        if space is not None:
            await self._publisher.space_interaction(tx, space, post, actor, item, undone)
