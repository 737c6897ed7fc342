"""Shares: grants from an owner's items to another identity, their labels and items, and the
SQL predicate that decides what a viewer may do with a post (used by every post query)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page

PERMISSIONS = ("can_read", "can_write", "can_delete", "can_share")


@dataclass(frozen=True)
class Share:
    guid: str
    owner_guid: str
    grantee_guid: str
    granted_by_guid: str
    parent_guid: str | None
    kind: str
    scope: str
    can_read: bool
    can_write: bool
    can_delete: bool
    can_share: bool
    expires_at: str | None
    remote: bool
    ap_id: str
    items_uri: str | None
    created_at: str
    updated_at: str
    label_ids: list[str] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, row: Row, label_ids: list[str], item_ids: list[str]) -> Share:
        values = {k: row[k] for k in cls.__dataclass_fields__ if k not in ("label_ids", "item_ids")}
        for k in ("can_read", "can_write", "can_delete", "can_share", "remote"):
            values[k] = bool(values[k])
        return cls(**values, label_ids=label_ids, item_ids=item_ids)

    def active(self, now: str) -> bool:
        return self.expires_at is None or self.expires_at > now


COLS = (
    "guid, owner_guid, grantee_guid, granted_by_guid, parent_guid, kind, scope, can_read,"
    " can_write, can_delete, can_share, expires_at, remote, ap_id, items_uri, created_at,"
    " updated_at"
)


def _scope_covers(s: str, a: str) -> str:
    """SQL true when the share `s` takes in the post `a` by its own scope alone."""
    return (
        f"({s}.scope = 'all'"
        f" OR ({s}.scope = 'specific_tags' AND EXISTS (SELECT 1 FROM share_labels sl"
        f"  JOIN post_labels pl ON pl.label_guid = sl.label_guid"
        f"  WHERE sl.share_guid = {s}.guid AND pl.post_guid = {a}.guid))"
        f" OR ({s}.scope = 'specific_items' AND EXISTS (SELECT 1 FROM share_items si"
        f"  WHERE si.share_guid = {s}.guid AND si.item_guid = {a}.guid)))"
    )


def share_covers(share: str = "s", post: str = "p") -> str:
    """SQL true when the grant `share` covers the post `post` (not checking its owner): by its
    scope and, for a re-share, by the scope of every share above it. A re-share's scope is
    checked against its parent's when made, but labels change afterwards: an item re-shared
    from a labels share is covered only while the parent still covers it."""
    s, a = share, post
    # Walk up parent_guid (primary-key lookups; UNION ends even on a cycle) and look for an
    # ancestor that does not cover the post. Shares without a parent skip it.
    return (
        f"({_scope_covers(s, a)} AND ({s}.parent_guid IS NULL OR NOT EXISTS ("
        f"WITH RECURSIVE up(guid) AS (SELECT {s}.parent_guid"
        f"  UNION SELECT u.parent_guid FROM shares u JOIN up ON u.guid = up.guid"
        f"  WHERE u.parent_guid IS NOT NULL)"
        f" SELECT 1 FROM up JOIN shares ps ON ps.guid = up.guid"
        f" WHERE NOT {_scope_covers('ps', a)})))"
    )


async def covers(q: Queryable, share_guid: str, post_guid: str) -> bool:
    """Whether the share's scope takes in the post (one of its owner's)."""
    return bool(
        await q.fetchval(
            "SELECT 1 FROM shares s JOIN posts p ON p.author_guid = s.owner_guid"
            f" WHERE s.guid = ? AND p.guid = ? AND {share_covers()}",
            (share_guid, post_guid),
        )
    )


def post_permitted(
    perm: str, viewer: str | None, now: str, alias: str = "p"
) -> tuple[str, list[str]]:
    """SQL (and its parameters) true when `viewer` holds `perm` on the post `alias`.

    Reading: public posts, one's own, direct posts addressed to one, followers-only posts of
    identities one follows (their follow grant), posts in a space one belongs to, and whatever
    an active grant covers (a re-share: only what its parent still covers). Writing and
    deleting: one's own, and what an active grant with that permission covers. Grants never
    reach into spaces: a space's members decide who reads it.
    """
    if viewer is None:
        return _permitted_sql(perm, alias, anonymous=True), []
    if perm != "can_read":
        return _permitted_sql(perm, alias), [viewer, viewer, now]
    return _permitted_sql(perm, alias), [viewer, viewer, viewer, viewer, now]


@lru_cache(maxsize=64)  # the same few texts, asked by every post query
def _permitted_sql(perm: str, a: str, anonymous: bool = False) -> str:
    assert perm in PERMISSIONS
    if anonymous:
        return f"{a}.visibility = 'public'" if perm == "can_read" else "0"
    covered = share_covers("s", a)
    grant = (
        f"EXISTS (SELECT 1 FROM shares s WHERE s.owner_guid = {a}.author_guid"
        f" AND s.grantee_guid = ? AND s.remote = 0 AND s.{perm} = 1"
        f" AND (s.expires_at IS NULL OR s.expires_at > ?) AND {a}.space_guid IS NULL"
        f" AND CASE s.kind WHEN 'follow' THEN {a}.visibility = 'followers' ELSE {covered} END)"
    )
    if perm != "can_read":
        return f"({a}.author_guid = ? OR {grant})"
    return (
        f"({a}.visibility = 'public' OR {a}.author_guid = ?"
        f" OR EXISTS (SELECT 1 FROM post_recipients r WHERE r.post_guid = {a}.guid"
        f"  AND r.identity_guid = ?)"
        f" OR ({a}.space_guid IS NOT NULL AND EXISTS (SELECT 1 FROM space_memberships sm"
        f"  WHERE sm.space_guid = {a}.space_guid AND sm.identity_guid = ?))"
        f" OR {grant})"
    )


async def _attach(q: Queryable, rows: list[Row]) -> list[Share]:
    if not rows:
        return []
    guids = [r["guid"] for r in rows]
    marks = ",".join("?" * len(guids))
    labels: dict[str, list[str]] = {}
    for r in await q.fetchall(
        f"SELECT share_guid, label_guid FROM share_labels WHERE share_guid IN ({marks})", guids
    ):
        labels.setdefault(r[0], []).append(r[1])
    items: dict[str, list[str]] = {}
    for r in await q.fetchall(
        f"SELECT share_guid, item_guid FROM share_items WHERE share_guid IN ({marks})", guids
    ):
        items.setdefault(r[0], []).append(r[1])
    return [
        Share.of(r, sorted(labels.get(r["guid"], [])), sorted(items.get(r["guid"], [])))
        for r in rows
    ]


async def insert(tx: Tx, share: Share, label_names: dict[str, str] | None = None) -> None:
    await tx.execute(
        f"INSERT INTO shares ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            share.guid, share.owner_guid, share.grantee_guid, share.granted_by_guid,
            share.parent_guid, share.kind, share.scope, int(share.can_read), int(share.can_write),
            int(share.can_delete), int(share.can_share), share.expires_at, int(share.remote),
            share.ap_id, share.items_uri, share.created_at, share.updated_at,
        ),
    )  # fmt: skip
    await _set_scope(tx, share, label_names or {})


async def _set_scope(tx: Tx, share: Share, label_names: dict[str, str]) -> None:
    await tx.execute("DELETE FROM share_labels WHERE share_guid = ?", (share.guid,))
    await tx.execute("DELETE FROM share_items WHERE share_guid = ?", (share.guid,))
    await tx.executemany(
        "INSERT INTO share_labels (share_guid, label_guid, label_name) VALUES (?, ?, ?)",
        [(share.guid, g, label_names.get(g, "")) for g in share.label_ids],
    )
    await tx.executemany(
        "INSERT INTO share_items (share_guid, item_guid) VALUES (?, ?)",
        [(share.guid, g) for g in share.item_ids],
    )


async def update(tx: Tx, share: Share, label_names: dict[str, str] | None = None) -> None:
    await tx.execute(
        "UPDATE shares SET scope = ?, can_read = ?, can_write = ?, can_delete = ?, can_share = ?,"
        " expires_at = ?, updated_at = ? WHERE guid = ?",
        (
            share.scope, int(share.can_read), int(share.can_write), int(share.can_delete),
            int(share.can_share), share.expires_at, share.updated_at, share.guid,
        ),
    )  # fmt: skip
    await _set_scope(tx, share, label_names or {})


async def get(q: Queryable, guid: str) -> Share | None:
    rows = await q.fetchall(f"SELECT {COLS} FROM shares WHERE guid = ?", (guid,))
    found = await _attach(q, rows)
    return found[0] if found else None


async def by_ap_id(q: Queryable, ap_id: str) -> Share | None:
    rows = await q.fetchall(f"SELECT {COLS} FROM shares WHERE ap_id = ?", (ap_id,))
    found = await _attach(q, rows)
    return found[0] if found else None


async def children(q: Queryable, parent_guid: str) -> list[Share]:
    rows = await q.fetchall(f"SELECT {COLS} FROM shares WHERE parent_guid = ?", (parent_guid,))
    return await _attach(q, rows)


async def granted_within_others(q: Queryable, identity_guids: list[str]) -> list[Share]:
    """Re-shares the identities made of items that are not theirs."""
    marks = ",".join("?" * len(identity_guids))
    rows = await q.fetchall(
        f"SELECT {COLS} FROM shares WHERE granted_by_guid IN ({marks})"
        f" AND owner_guid NOT IN ({marks}) AND kind = 'grant'",
        (*identity_guids, *identity_guids),
    )
    return await _attach(q, rows)


async def follow_grant(q: Queryable, owner_guid: str, grantee_guid: str) -> Share | None:
    rows = await q.fetchall(
        f"SELECT {COLS} FROM shares WHERE owner_guid = ? AND grantee_guid = ? AND kind = 'follow'",
        (owner_guid, grantee_guid),
    )
    found = await _attach(q, rows)
    return found[0] if found else None


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM shares WHERE guid = ?", (guid,))


async def delete_follow_grant(tx: Tx, owner_guid: str, grantee_guid: str) -> None:
    await tx.execute(
        "DELETE FROM shares WHERE owner_guid = ? AND grantee_guid = ? AND kind = 'follow'",
        (owner_guid, grantee_guid),
    )


async def listing(
    q: Queryable, column: str, identity_guid: str, page: PageRequest
) -> tuple[list[Share], Page]:
    """Explicit grants where the identity is on the `column` side (granted_by or grantee)."""
    assert column in ("granted_by_guid", "grantee_guid")
    result = await fetch_page(
        q,
        select=COLS,
        from_where=f"FROM shares WHERE {column} = ? AND kind = 'grant'",
        params=(identity_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    return await _attach(q, result.rows), result


async def count(q: Queryable, column: str, identity_guid: str) -> int:
    assert column in ("granted_by_guid", "grantee_guid")
    return int(
        await q.fetchval(
            f"SELECT count(*) FROM shares WHERE {column} = ? AND kind = 'grant'", (identity_guid,)
        )
    )
