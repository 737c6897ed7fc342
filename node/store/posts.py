"""Posts (local and remote), their recipients, tombstones of deleted ones."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page
from node.store.shares import post_permitted, share_covers

MAX_CONTENT_WARNING = 500  # characters, local or remote


@dataclass(frozen=True)
class Post:
    guid: str
    author_guid: str
    ap_id: str
    local: bool
    body: str
    html: str
    visibility: str
    in_reply_to_guid: str | None
    in_reply_to_ap_id: str | None
    created_at: str
    updated_at: str
    space_guid: str | None = None  # the space it was posted in
    content_warning: str = ""  # plain text shown in place of the post; '' for none
    sensitive: bool = False  # the post and its media; always so with a warning

    @classmethod
    def of(cls, row: Row) -> Post:
        return cls(
            guid=row["guid"],
            author_guid=row["author_guid"],
            ap_id=row["ap_id"],
            local=bool(row["local"]),
            body=row["body"],
            html=row["html"],
            visibility=row["visibility"],
            in_reply_to_guid=row["in_reply_to_guid"],
            in_reply_to_ap_id=row["in_reply_to_ap_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            space_guid=row["space_guid"],
            content_warning=row["content_warning"],
            sensitive=bool(row["sensitive"]),
        )


@dataclass(frozen=True)
class PostStats:
    likes: int
    reshares: int
    comments: int


COLS = (
    "p.guid, p.author_guid, p.ap_id, p.local, p.body, p.html, p.visibility, p.in_reply_to_guid,"
    " p.in_reply_to_ap_id, p.created_at, p.updated_at, p.space_guid, p.content_warning,"
    " p.sensitive"
)


async def insert(tx: Tx, post: Post, recipients: list[str]) -> None:
    await tx.execute(
        f"INSERT INTO posts ({COLS.replace('p.', '')}, last_activity_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            post.guid,
            post.author_guid,
            post.ap_id,
            int(post.local),
            post.body,
            post.html,
            post.visibility,
            post.in_reply_to_guid,
            post.in_reply_to_ap_id,
            post.created_at,
            post.updated_at,
            post.space_guid,
            post.content_warning,
            int(post.sensitive),
            post.created_at,
        ),
    )
    await tx.executemany(
        "INSERT OR IGNORE INTO post_recipients (post_guid, identity_guid) VALUES (?, ?)",
        [(post.guid, r) for r in recipients],
    )


async def get(q: Queryable, guid: str) -> Post | None:
    row = await q.fetchone(f"SELECT {COLS} FROM posts p WHERE p.guid = ?", (guid,))
    return Post.of(row) if row else None


async def get_many(q: Queryable, guids: list[str]) -> list[Post]:
    if not guids:
        return []
    places = ",".join("?" * len(guids))
    rows = await q.fetchall(f"SELECT {COLS} FROM posts p WHERE p.guid IN ({places})", guids)
    return [Post.of(r) for r in rows]


async def by_ap_id(q: Queryable, ap_id: str) -> Post | None:
    row = await q.fetchone(f"SELECT {COLS} FROM posts p WHERE p.ap_id = ?", (ap_id,))
    return Post.of(row) if row else None


async def waiting_replies(q: Queryable, ap_id: str) -> list[Post]:
    """Stored replies to `ap_id` that are linked to no post: they reached us before it (or
    were kept apart from it). One query on a small partial index: every post stored from
    elsewhere asks it."""
    rows = await q.fetchall(
        f"SELECT {COLS} FROM posts p WHERE p.in_reply_to_ap_id = ?"
        " AND p.in_reply_to_guid IS NULL AND p.in_reply_to_ap_id IS NOT NULL",
        (ap_id,),
    )
    return [Post.of(r) for r in rows]


async def link_reply(tx: Tx, guid: str, parent_guid: str) -> None:
    """Join a reply to the post it answers (triggers bump both revisions)."""
    await tx.execute(
        "UPDATE posts SET in_reply_to_guid = ? WHERE guid = ? AND in_reply_to_guid IS NULL",
        (parent_guid, guid),
    )


async def recipients(q: Queryable, post_guid: str) -> list[str]:
    rows = await q.fetchall(
        "SELECT identity_guid FROM post_recipients WHERE post_guid = ?", (post_guid,)
    )
    return [r[0] for r in rows]


async def sent_inboxes(q: Queryable, post_guid: str) -> list[str]:
    """The remote inboxes a local post was sent to and that may still hold a copy."""
    rows = await q.fetchall(
        "SELECT inbox FROM post_inboxes WHERE post_guid = ? ORDER BY inbox", (post_guid,)
    )
    return [r[0] for r in rows]


async def sent_inboxes_of_author(q: Queryable, author_guid: str) -> list[str]:
    """The remote inboxes any of an author's posts was sent to for whom it named."""
    rows = await q.fetchall(
        "SELECT DISTINCT i.inbox FROM post_inboxes i JOIN posts p ON p.guid = i.post_guid"
        " WHERE p.author_guid = ?",
        (author_guid,),
    )
    return [r[0] for r in rows]


async def once_public(q: Queryable, post_guid: str) -> bool:
    """Whether a post of ours was public before its space went private."""
    return bool(
        await q.fetchval("SELECT 1 FROM posts_once_public WHERE post_guid = ?", (post_guid,))
    )


async def add_sent_inboxes(tx: Tx, post_guid: str, inboxes: Sequence[str]) -> None:
    await tx.executemany(
        "INSERT OR IGNORE INTO post_inboxes (post_guid, inbox) VALUES (?, ?)",
        [(post_guid, i) for i in inboxes],
    )


async def forget_sent_inboxes(tx: Tx, post_guid: str, inboxes: Sequence[str]) -> None:
    """These inboxes were sent the post's Delete: they hold no copy any more."""
    await tx.executemany(
        "DELETE FROM post_inboxes WHERE post_guid = ? AND inbox = ?",
        [(post_guid, i) for i in inboxes],
    )


async def update_content(tx: Tx, guid: str, body: str, html: str, now: str) -> None:
    await tx.execute(
        "UPDATE posts SET body = ?, html = ?, updated_at = ? WHERE guid = ?",
        (body, html, now, guid),
    )


async def set_warning(tx: Tx, guid: str, content_warning: str, sensitive: bool, now: str) -> None:
    """Change a post's content warning and sensitive flag (an edit, like one of its text)."""
    await tx.execute(
        "UPDATE posts SET content_warning = ?, sensitive = ?, updated_at = ? WHERE guid = ?",
        (content_warning, int(sensitive), now, guid),
    )


async def touch(tx: Tx, guid: str, now: str) -> None:
    """Mark a post edited without changing its text (its attachments changed)."""
    await tx.execute("UPDATE posts SET updated_at = ? WHERE guid = ?", (now, guid))


async def delete(tx: Tx, post: Post, now: str) -> None:
    await tx.execute("DELETE FROM posts WHERE guid = ?", (post.guid,))
    await tx.execute("INSERT OR IGNORE INTO tombstones VALUES (?, ?)", (post.ap_id, now))


# Sets of posts deleted at once, by a condition on `posts` (fixed here, never from input).
BY_AUTHOR = "author_guid = ?"
IN_SPACE = "space_guid = ?"


async def delete_all(tx: Tx, where: str, param: str, now: str) -> None:
    """`delete` for every post `where` (BY_AUTHOR, IN_SPACE) holds: two statements whatever
    their number (the triggers on posts still run for each row, keeping feeds and counts
    right)."""
    await tx.execute(
        f"INSERT OR IGNORE INTO tombstones (ap_id, deleted_at) SELECT ap_id, ? FROM posts"
        f" WHERE {where}",
        (now, param),
    )
    await tx.execute(f"DELETE FROM posts WHERE {where}", (param,))


async def in_our_spaces_by(q: Queryable, author_guid: str) -> list[Post]:
    """An author's posts in spaces of this pod."""
    rows = await q.fetchall(
        f"SELECT {COLS} FROM posts p JOIN spaces s ON s.guid = p.space_guid"
        " WHERE p.author_guid = ? AND s.domain IS NULL",
        (author_guid,),
    )
    return [Post.of(r) for r in rows]


async def leave_space(tx: Tx, space_guid: str) -> None:
    """Our public posts in a space that is gone stay, outside it (they went to followers too)."""
    await tx.execute(
        "UPDATE posts SET space_guid = NULL WHERE space_guid = ? AND local = 1"
        " AND visibility = 'public'",
        (space_guid,),
    )


async def is_tombstoned(q: Queryable, ap_id: str) -> bool:
    return bool(await q.fetchval("SELECT 1 FROM tombstones WHERE ap_id = ?", (ap_id,)))


async def is_known(q: Queryable, ap_id: str) -> bool:
    """Whether a post with this id is stored or was deleted (one query: the inbox asks it of
    every incoming post)."""
    return bool(
        await q.fetchval(
            "SELECT EXISTS (SELECT 1 FROM posts WHERE ap_id = ?)"
            " OR EXISTS (SELECT 1 FROM tombstones WHERE ap_id = ?)",
            (ap_id, ap_id),
        )
    )


async def permitted(q: Queryable, post_guid: str, viewer: str | None, perm: str, now: str) -> bool:
    """Whether `viewer` (None: anyone) holds `perm` (can_read, can_write, ...) on the post."""
    cond, params = post_permitted(perm, viewer, now)
    return bool(
        await q.fetchval(f"SELECT 1 FROM posts p WHERE p.guid = ? AND {cond}", (post_guid, *params))
    )


@dataclass(frozen=True)
class PostFacts:
    """What a post view shows besides the post: its counters, emoji reactions and tags, and
    what the viewer did with it (liked, reshared, reacted, bookmarked)."""

    stats: PostStats
    reactions: dict[str, int]  # emoji -> count, most used first, then by emoji
    tags: list[str]  # alphabetical
    liked: bool
    reshared: bool
    my_reaction: str | None
    bookmarked: bool


# What the viewer did with post `p`: point lookups on UNIQUE (kind, post_guid, identity_guid)
# and the like; asked as one join with identity_guid = ?, SQLite would walk all of the
# viewer's interactions for each post. Four `?`, each the viewer.
_VIEWER_MARKS = (
    " EXISTS (SELECT 1 FROM interactions i WHERE i.kind = 'like' AND i.post_guid = p.guid"
    "  AND i.identity_guid = ?),"
    " EXISTS (SELECT 1 FROM interactions i WHERE i.kind = 'reshare'"
    "  AND i.post_guid = p.guid AND i.identity_guid = ?),"
    " (SELECT emoji FROM reactions r WHERE r.post_guid = p.guid AND r.identity_guid = ?),"
    " EXISTS (SELECT 1 FROM bookmarks b WHERE b.identity_guid = ? AND b.post_guid = p.guid)"
)


async def facts(q: Queryable, guids: list[str], viewer: str | None) -> dict[str, PostFacts]:
    """PostFacts of many posts in one query (a stream page asks for twenty at a time)."""
    if not guids:
        return {}
    marks = ",".join("?" * len(guids))
    rows = await q.fetchall(
        "SELECT p.guid,"
        " (SELECT count(*) FROM interactions i WHERE i.post_guid = p.guid AND i.kind = 'like'),"
        " (SELECT count(*) FROM interactions i WHERE i.post_guid = p.guid AND i.kind = 'reshare'),"
        # Replies everyone who reads the post may read (as Mastodon counts): the count is
        # rendered once for every viewer, so a private reply must not show in it.
        " (SELECT count(*) FROM posts c WHERE c.in_reply_to_guid = p.guid"
        "  AND c.visibility IN ('public', 'space')),"
        " (SELECT json_group_array(json_array(emoji, n)) FROM (SELECT emoji, count(*) AS n"
        "  FROM reactions r WHERE r.post_guid = p.guid GROUP BY emoji)),"
        " (SELECT json_group_array(tag) FROM post_tags t WHERE t.post_guid = p.guid),"
        f"{_VIEWER_MARKS} FROM posts p WHERE p.guid IN ({marks})",
        (viewer, viewer, viewer, viewer, *guids),
    )
    out = {}
    for r in rows:
        counted = sorted(json.loads(r[4]), key=lambda e: (-e[1], e[0]))
        out[r[0]] = PostFacts(
            stats=PostStats(r[1], r[2], r[3]),
            reactions={emoji: n for emoji, n in counted},
            tags=sorted(json.loads(r[5])),
            liked=bool(r[6]),
            reshared=bool(r[7]),
            my_reaction=r[8],
            bookmarked=bool(r[9]),
        )
    return out


class ViewerMark(NamedTuple):
    """What one identity did with one post (a tuple: a page asks for twenty)."""

    liked: bool = False
    reshared: bool = False
    my_reaction: str | None = None
    bookmarked: bool = False


NO_MARK = ViewerMark()

# The stamp of post `p`: its revision and its author's (`pa`, joined with _STAMP_JOIN), which
# change whenever anything the post shows to everyone changes, so that part can be rendered
# once per stamp.
_STAMP = "p.rev || '/' || pa.rev"
_STAMP_JOIN = "JOIN identities pa ON pa.guid = p.author_guid"


async def stamps(q: Queryable, guids: list[str]) -> dict[str, str]:
    if not guids:
        return {}
    places = ",".join("?" * len(guids))
    rows = await q.fetchall(
        f"SELECT p.guid, {_STAMP} FROM posts p {_STAMP_JOIN} WHERE p.guid IN ({places})", guids
    )
    return {r[0]: r[1] for r in rows}


async def marks_rev(q: Queryable, viewer: str) -> int:
    """The revision of what the viewer did with posts (bumped by triggers)."""
    return int(await q.fetchval("SELECT marks_rev FROM identities WHERE guid = ?", (viewer,)) or 0)


async def viewer_marks(q: Queryable, guids: list[str], viewer: str) -> dict[str, ViewerMark]:
    """What the viewer did with each of these posts (those that exist)."""
    if not guids:
        return {}
    places = ",".join("?" * len(guids))
    rows = await q.fetchall(
        f"SELECT p.guid,{_VIEWER_MARKS} FROM posts p WHERE p.guid IN ({places})",
        (viewer, viewer, viewer, viewer, *guids),
    )
    return {r[0]: ViewerMark(bool(r[1]), bool(r[2]), r[3], bool(r[4])) for r in rows}


class PostRef(NamedTuple):
    """A post in a list the API renders: which post, and when the list's query could afford
    them, its stamp and the viewer's marks revision."""

    guid: str
    author_guid: str
    stamp: str | None = None
    marks_rev: int | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Shape(Generic[T]):
    """What a post list returns: its columns (`select`, with `params` for its `?`) and how a
    row becomes an item."""

    select: str
    build: Callable[[Row], T]
    params: tuple[Any, ...] = ()
    join: str = ""  # what `select` needs besides the post


FULL = Shape(COLS, Post.of)
REFS = Shape("p.guid, p.author_guid", lambda r: PostRef(r[0], r[1]))


def stamped_refs(viewer: str) -> Shape[PostRef]:
    """PostRefs with their stamps and the viewer's marks revision, in the page's own query:
    for lists read in index order, where these columns are worked out for the page's rows
    only. (A list that sorts would work them out for every row it sorts.)"""
    return Shape(
        f"p.guid, p.author_guid, {_STAMP}, (SELECT marks_rev FROM identities WHERE guid = ?)",
        lambda r: PostRef(r[0], r[1], r[2], r[3]),
        (viewer,),
        _STAMP_JOIN,
    )


async def readable_page(
    q: Queryable,
    viewer: str | None,
    now: str,
    page: PageRequest,
    where: str,
    params: Sequence[Any] = (),
    join: str = "",
    key: tuple[str, str] = ("p.created_at", "p.guid"),
    shape: Shape[T] = FULL,  # type: ignore[assignment]
    public_only: bool = False,
) -> tuple[list[T], Page]:
    """A keyset page of posts (`p`) matching `where` that the viewer may read (`public_only`:
    only what anyone may read): every post list goes through here, so visibility is always
    applied in the query itself."""
    readable, readable_params = post_permitted("can_read", None if public_only else viewer, now)
    result = await fetch_page(
        q,
        select=shape.select,
        select_params=shape.params,
        from_where=f"FROM posts p {join} {shape.join} WHERE {where} AND {readable}",
        params=(*params, *readable_params),
        key=key,
        page=page,
    )
    return [shape.build(r) for r in result.rows], result


async def main_stream(
    q: Queryable, viewer: str, now: str, page: PageRequest, public_only: bool = False
) -> tuple[list[PostRef], Page]:
    """Top-level posts by the viewer, the identities they follow, in the spaces they belong to
    and with the hashtags they follow, that the viewer may read (comments show under their
    posts): the viewer's `main_feed` entries, which triggers keep to exactly those posts."""
    return await readable_page(
        q,
        viewer,
        now,
        page,
        "mf.viewer_guid = ?",
        (viewer,),
        join="JOIN main_feed mf ON mf.post_guid = p.guid",
        key=("mf.created_at", "mf.post_guid"),
        shape=stamped_refs(viewer),
        public_only=public_only,
    )


async def by_author(
    q: Queryable,
    author: str,
    viewer: str | None,
    now: str,
    page: PageRequest,
    shape: Shape[T] = FULL,  # type: ignore[assignment]
    public_only: bool = False,
) -> tuple[list[T], Page]:
    return await readable_page(
        q, viewer, now, page, "p.author_guid = ?", (author,), shape=shape, public_only=public_only
    )


async def shared_with(
    q: Queryable, share_guid: str, viewer: str, now: str, page: PageRequest
) -> tuple[list[Post], Page]:
    """The posts a share covers, as far as the viewer may read them now."""
    return await readable_page(
        q,
        viewer,
        now,
        page,
        share_covers(),
        (share_guid,),
        join="JOIN shares s ON s.guid = ? AND p.author_guid = s.owner_guid",
    )


async def set_mentions(
    tx: Tx, post_guid: str, identity_guids: list[str], new: bool = False
) -> None:
    """`new`: the post was just inserted, so there is nothing to replace."""
    if not new:
        await tx.execute("DELETE FROM post_mentions WHERE post_guid = ?", (post_guid,))
    await tx.executemany(
        "INSERT OR IGNORE INTO post_mentions (post_guid, identity_guid) VALUES (?, ?)",
        [(post_guid, g) for g in identity_guids],
    )


async def mentions(q: Queryable, post_guid: str) -> list[str]:
    rows = await q.fetchall(
        "SELECT identity_guid FROM post_mentions WHERE post_guid = ?", (post_guid,)
    )
    return [r[0] for r in rows]


async def set_tags(tx: Tx, post_guid: str, tags: list[str], new: bool = False) -> None:
    if not new:
        await tx.execute("DELETE FROM post_tags WHERE post_guid = ?", (post_guid,))
    await tx.executemany(
        "INSERT OR IGNORE INTO post_tags (post_guid, tag) VALUES (?, ?)",
        [(post_guid, t) for t in tags],
    )


async def tags(q: Queryable, post_guids: list[str]) -> dict[str, list[str]]:
    if not post_guids:
        return {}
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid, tag FROM post_tags WHERE post_guid IN ({marks}) ORDER BY tag",
        post_guids,
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1])
    return out


async def bump_activity(tx: Tx, post_guid: str | None, now: str) -> None:
    """A comment, like, reaction or reshare moves a post up the activity stream."""
    if post_guid:
        await tx.execute(
            "UPDATE posts SET last_activity_at = max(coalesce(last_activity_at, ''), ?)"
            " WHERE guid = ?",
            (now, post_guid),
        )
