"""The stream queries (diaspora* streams). Each applies the one visibility predicate in SQL, so
a page is never short because items were filtered out after the query."""

from __future__ import annotations

from node.store.db import Queryable
from node.store.paging import Page, PageRequest
from node.store.posts import REFS, PostRef, readable_page

# name → (extra FROM/JOIN, condition with one `?` per viewer mention, sort key)
# Top-level: not a reply, even to a post since deleted or never seen here.
_TOP = "p.in_reply_to_ap_id IS NULL"
# Which posts a stream holds is asked of the viewer's own rows (`p.guid IN (...)`, run once),
# not row by row of all posts: a correlated EXISTS made SQLite walk every post, and for each
# all of the viewer's interactions (seconds at 100,000 posts).
_COMMENTED = (
    "p.guid IN (SELECT c.in_reply_to_guid FROM posts c WHERE c.author_guid = ?"
    " AND c.in_reply_to_guid IS NOT NULL)"
)
_STREAMS: dict[str, tuple[str, str, int, tuple[str, str]]] = {
    "activity": (
        "",
        f"{_TOP} AND (p.author_guid = ? OR {_COMMENTED}"
        " OR p.guid IN (SELECT i.post_guid FROM interactions i WHERE i.identity_guid = ?)"
        " OR p.guid IN (SELECT r.post_guid FROM reactions r WHERE r.identity_guid = ?))",
        4,
        ("coalesce(p.last_activity_at, p.created_at)", "p.guid"),
    ),
    "mentions": (
        "",
        "p.guid IN (SELECT m.post_guid FROM post_mentions m WHERE m.identity_guid = ?)",
        1,
        ("p.created_at", "p.guid"),
    ),
    "tags": (
        "",
        f"{_TOP} AND p.guid IN (SELECT t.post_guid FROM post_tags t"
        " JOIN tag_followings f ON f.tag = t.tag WHERE f.identity_guid = ?)",
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
        f"{_TOP} AND {_COMMENTED}",
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
    q: Queryable, name: str, viewer: str, now: str, page: PageRequest, public_only: bool = False
) -> tuple[list[PostRef], Page]:
    join, cond, n, key = _STREAMS[name]
    return await readable_page(
        q,
        viewer,
        now,
        page,
        cond,
        [viewer] * n,
        join=join,
        key=key,
        shape=REFS,
        public_only=public_only,
    )


async def comments(
    q: Queryable,
    post_guid: str,
    viewer: str,
    now: str,
    page: PageRequest,
    public_only: bool = False,
) -> tuple[list[PostRef], Page]:
    return await readable_page(
        q,
        viewer,
        now,
        page,
        "p.in_reply_to_guid = ?",
        (post_guid,),
        shape=REFS,
        public_only=public_only,
    )


async def by_tag(
    q: Queryable, tag: str, viewer: str, now: str, page: PageRequest, public_only: bool = False
) -> tuple[list[PostRef], Page]:
    return await readable_page(
        q,
        viewer,
        now,
        page,
        "p.guid IN (SELECT t.post_guid FROM post_tags t WHERE t.tag = ?)",
        (tag,),
        shape=REFS,
        public_only=public_only,
    )
