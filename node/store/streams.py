"""The stream queries (diaspora* streams). Each applies the one visibility predicate in SQL, so
a page is never short because items were filtered out after the query."""

from __future__ import annotations

from node.store.db import Queryable
from node.store.paging import Page, PageRequest, fetch_page
from node.store.posts import COLS, Post
from node.store.shares import post_permitted

# name → (extra FROM/JOIN, condition with one `?` per viewer mention, sort key)
_TOP = "p.in_reply_to_guid IS NULL"
_STREAMS: dict[str, tuple[str, str, int, tuple[str, str]]] = {
    "activity": (
        "",
        f"{_TOP} AND (p.author_guid = ?"
        " OR EXISTS (SELECT 1 FROM posts c WHERE c.in_reply_to_guid = p.guid"
        "  AND c.author_guid = ?)"
        " OR EXISTS (SELECT 1 FROM interactions i WHERE i.post_guid = p.guid"
        "  AND i.identity_guid = ?)"
        " OR EXISTS (SELECT 1 FROM reactions r WHERE r.post_guid = p.guid"
        "  AND r.identity_guid = ?))",
        4,
        ("coalesce(p.last_activity_at, p.created_at)", "p.guid"),
    ),
    "mentions": (
        "",
        "EXISTS (SELECT 1 FROM post_mentions m WHERE m.post_guid = p.guid AND m.identity_guid = ?)",
        1,
        ("p.created_at", "p.guid"),
    ),
    "tags": (
        "",
        f"{_TOP} AND EXISTS (SELECT 1 FROM post_tags t JOIN tag_followings f ON f.tag = t.tag"
        " WHERE t.post_guid = p.guid AND f.identity_guid = ?)",
        1,
        ("p.created_at", "p.guid"),
    ),
    "liked": (
        "JOIN interactions i ON i.post_guid = p.guid AND i.kind = 'like'",
        "i.identity_guid = ?",
        1,
        ("i.created_at", "i.guid"),
    ),
    "commented": (
        "",
        f"{_TOP} AND EXISTS (SELECT 1 FROM posts c WHERE c.in_reply_to_guid = p.guid"
        " AND c.author_guid = ?)",
        1,
        ("coalesce(p.last_activity_at, p.created_at)", "p.guid"),
    ),
    "bookmarks": (
        "JOIN bookmarks b ON b.post_guid = p.guid",
        "b.identity_guid = ?",
        1,
        ("b.created_at", "b.post_guid"),
    ),
}
NAMES = tuple(_STREAMS)


async def stream(
    q: Queryable, name: str, viewer: str, now: str, page: PageRequest
) -> tuple[list[Post], Page]:
    join, cond, n, key = _STREAMS[name]
    readable, params = post_permitted("can_read", viewer, now)
    result = await fetch_page(
        q,
        select=COLS,
        from_where=f"FROM posts p {join} WHERE {cond} AND {readable}",
        params=(*([viewer] * n), *params),
        key=key,
        page=page,
    )
    return [Post.of(r) for r in result.rows], result


async def comments(
    q: Queryable, post_guid: str, viewer: str, now: str, page: PageRequest
) -> tuple[list[Post], Page]:
    readable, params = post_permitted("can_read", viewer, now)
    result = await fetch_page(
        q,
        select=COLS,
        from_where=f"FROM posts p WHERE p.in_reply_to_guid = ? AND {readable}",
        params=(post_guid, *params),
        key=("p.created_at", "p.guid"),
        page=page,
    )
    return [Post.of(r) for r in result.rows], result


async def by_tag(
    q: Queryable, tag: str, viewer: str, now: str, page: PageRequest
) -> tuple[list[Post], Page]:
    readable, params = post_permitted("can_read", viewer, now)
    result = await fetch_page(
        q,
        select=COLS,
        from_where=(
            "FROM posts p WHERE EXISTS (SELECT 1 FROM post_tags t WHERE t.post_guid = p.guid"
            f" AND t.tag = ?) AND {readable}"
        ),
        params=(tag, *params),
        key=("p.created_at", "p.guid"),
        page=page,
    )
    return [Post.of(r) for r in result.rows], result
