"""Hashtags an identity follows."""

from __future__ import annotations

from node.store.db import Queryable, Tx

MAX_FOLLOWED = 500


async def followed(q: Queryable, identity_guid: str) -> list[tuple[str, str]]:
    """(tag, since) pairs, alphabetical."""
    rows = await q.fetchall(
        "SELECT tag, created_at FROM tag_followings WHERE identity_guid = ? ORDER BY tag",
        (identity_guid,),
    )
    return [(r[0], r[1]) for r in rows]


async def follow(tx: Tx, identity_guid: str, tag: str, now: str) -> bool:
    return (
        await tx.execute(
            "INSERT OR IGNORE INTO tag_followings (identity_guid, tag, created_at)"
            " VALUES (?, ?, ?)",
            (identity_guid, tag, now),
        )
        > 0
    )


async def unfollow(tx: Tx, identity_guid: str, tag: str) -> bool:
    return (
        await tx.execute(
            "DELETE FROM tag_followings WHERE identity_guid = ? AND tag = ?", (identity_guid, tag)
        )
        > 0
    )


async def count(q: Queryable, identity_guid: str) -> int:
    return int(
        await q.fetchval(
            "SELECT count(*) FROM tag_followings WHERE identity_guid = ?", (identity_guid,)
        )
    )
