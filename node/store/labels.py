"""Labels: an identity's private tags, and which of its posts carry them."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Label:
    guid: str
    owner_guid: str
    name: str
    color: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Row) -> Label:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


_COLS = "guid, owner_guid, name, color, created_at, updated_at"


async def insert(tx: Tx, label: Label) -> None:
    await tx.execute(
        f"INSERT INTO labels ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        (label.guid, label.owner_guid, label.name, label.color, label.created_at, label.updated_at),
    )


async def get(q: Queryable, owner_guid: str, guid: str) -> Label | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM labels WHERE guid = ? AND owner_guid = ?", (guid, owner_guid)
    )
    return Label.of(row) if row else None


async def names_of(q: Queryable, owner_guid: str) -> dict[str, str]:
    """guid → name of every label of this owner (a person has a handful)."""
    rows = await q.fetchall("SELECT guid, name FROM labels WHERE owner_guid = ?", (owner_guid,))
    return {r[0]: r[1] for r in rows}


async def list_for(q: Queryable, owner_guid: str, page: PageRequest) -> tuple[list[Label], Page]:
    result = await fetch_page(
        q,
        select=_COLS,
        from_where="FROM labels WHERE owner_guid = ?",
        params=(owner_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    return [Label.of(r) for r in result.rows], result


async def update(tx: Tx, guid: str, name: str, color: str, now: str) -> None:
    await tx.execute(
        "UPDATE labels SET name = ?, color = ?, updated_at = ? WHERE guid = ?",
        (name, color, now, guid),
    )


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM labels WHERE guid = ?", (guid,))


async def owned(q: Queryable, owner_guid: str, guids: list[str]) -> set[str]:
    """Which of `guids` are labels of this owner."""
    if not guids:
        return set()
    marks = ",".join("?" * len(guids))
    rows = await q.fetchall(
        f"SELECT guid FROM labels WHERE owner_guid = ? AND guid IN ({marks})", (owner_guid, *guids)
    )
    return {r[0] for r in rows}


async def names(q: Queryable, guids: list[str]) -> dict[str, str]:
    if not guids:
        return {}
    marks = ",".join("?" * len(guids))
    rows = await q.fetchall(f"SELECT guid, name FROM labels WHERE guid IN ({marks})", guids)
    return {r[0]: r[1] for r in rows}


async def set_for_post(tx: Tx, post_guid: str, label_guids: list[str]) -> None:
    await tx.execute("DELETE FROM post_labels WHERE post_guid = ?", (post_guid,))
    await tx.executemany(
        "INSERT INTO post_labels (post_guid, label_guid) VALUES (?, ?)",
        [(post_guid, g) for g in dict.fromkeys(label_guids)],
    )


async def of_posts(q: Queryable, post_guids: list[str]) -> dict[str, list[str]]:
    if not post_guids:
        return {}
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT post_guid, label_guid FROM post_labels WHERE post_guid IN ({marks})", post_guids
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1])
    return out
