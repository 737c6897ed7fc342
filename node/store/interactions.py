"""Likes and reshares of posts."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx


@dataclass(frozen=True)
class Interaction:
    guid: str
    kind: str  # like | reshare
    post_guid: str
    identity_guid: str
    ap_id: str
    created_at: str

    @classmethod
    def of(cls, row: Row) -> Interaction:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


_COLS = "guid, kind, post_guid, identity_guid, ap_id, created_at"


async def insert(tx: Tx, item: Interaction) -> bool:
    """False when the identity already did this to the post (idempotent)."""
    changed = await tx.execute(
        f"INSERT OR IGNORE INTO interactions ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        (item.guid, item.kind, item.post_guid, item.identity_guid, item.ap_id, item.created_at),
    )
    return changed > 0


async def find(q: Queryable, kind: str, post_guid: str, identity_guid: str) -> Interaction | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM interactions WHERE kind = ? AND post_guid = ? AND identity_guid = ?",
        (kind, post_guid, identity_guid),
    )
    return Interaction.of(row) if row else None


async def by_ap_id(q: Queryable, ap_id: str) -> Interaction | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM interactions WHERE ap_id = ?", (ap_id,))
    return Interaction.of(row) if row else None


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM interactions WHERE guid = ?", (guid,))


async def delete_by(tx: Tx, identity_guid: str) -> None:
    """Every like and reshare an identity made (its account is gone)."""
    await tx.execute("DELETE FROM interactions WHERE identity_guid = ?", (identity_guid,))


async def mine(q: Queryable, identity_guid: str, post_guids: list[str]) -> set[tuple[str, str]]:
    """(post guid, kind) pairs the identity has done, for the `liked`/`reshared` flags."""
    if not post_guids:
        return set()
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid, kind FROM interactions WHERE identity_guid = ?"
        f" AND post_guid IN ({marks})",
        (identity_guid, *post_guids),
    )
    return {(r[0], r[1]) for r in rows}
