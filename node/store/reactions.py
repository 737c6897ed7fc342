"""Emoji reactions (one per identity and post) and bookmarks (private to their owner)."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx


@dataclass(frozen=True)
class Reaction:
    guid: str
    post_guid: str
    identity_guid: str
    emoji: str
    ap_id: str
    created_at: str

    @classmethod
    def of(cls, row: Row) -> Reaction:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


_COLS = "guid, post_guid, identity_guid, emoji, ap_id, created_at"


async def put(tx: Tx, reaction: Reaction) -> Reaction | None:
    """Set the identity's reaction on the post; returns the one it replaced, if any."""
    old = await find(tx, reaction.post_guid, reaction.identity_guid)
    if old is not None:
        await tx.execute("DELETE FROM reactions WHERE guid = ?", (old.guid,))
    await tx.execute(
        f"INSERT INTO reactions ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        (reaction.guid, reaction.post_guid, reaction.identity_guid, reaction.emoji,
         reaction.ap_id, reaction.created_at),
    )  # fmt: skip
    return old


async def find(q: Queryable, post_guid: str, identity_guid: str) -> Reaction | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM reactions WHERE post_guid = ? AND identity_guid = ?",
        (post_guid, identity_guid),
    )
    return Reaction.of(row) if row else None


async def by_ap_id(q: Queryable, ap_id: str) -> Reaction | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM reactions WHERE ap_id = ?", (ap_id,))
    return Reaction.of(row) if row else None


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM reactions WHERE guid = ?", (guid,))


async def delete_by(tx: Tx, identity_guid: str) -> None:
    """Every reaction an identity made (its account is gone)."""
    await tx.execute("DELETE FROM reactions WHERE identity_guid = ?", (identity_guid,))


async def summary(q: Queryable, post_guids: list[str]) -> dict[str, dict[str, int]]:
    """post guid → {emoji: count}."""
    if not post_guids:
        return {}
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid, emoji, count(*) FROM reactions WHERE post_guid IN ({marks})"
        " GROUP BY post_guid, emoji ORDER BY count(*) DESC, emoji",
        post_guids,
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r[0], {})[r[1]] = r[2]
    return out


async def mine(q: Queryable, identity_guid: str, post_guids: list[str]) -> dict[str, str]:
    if not post_guids:
        return {}
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid, emoji FROM reactions WHERE identity_guid = ?"
        f" AND post_guid IN ({marks})",
        (identity_guid, *post_guids),
    )
    return {r[0]: r[1] for r in rows}


async def bookmark(tx: Tx, identity_guid: str, post_guid: str, now: str) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO bookmarks (identity_guid, post_guid, created_at) VALUES (?, ?, ?)",
        (identity_guid, post_guid, now),
    )


async def unbookmark(tx: Tx, identity_guid: str, post_guid: str) -> bool:
    return (
        await tx.execute(
            "DELETE FROM bookmarks WHERE identity_guid = ? AND post_guid = ?",
            (identity_guid, post_guid),
        )
        > 0
    )


async def bookmarked(q: Queryable, identity_guid: str, post_guids: list[str]) -> set[str]:
    if not post_guids:
        return set()
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid FROM bookmarks WHERE identity_guid = ? AND post_guid IN ({marks})",
        (identity_guid, *post_guids),
    )
    return {r[0] for r in rows}
