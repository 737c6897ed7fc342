"""Notifications of an identity, with read state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.ids import new_guid
from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Notification:
    guid: str
    identity_guid: str
    kind: str
    actor_guid: str | None
    subject_guid: str | None
    detail: dict[str, Any]
    created_at: str
    read_at: str | None

    @classmethod
    def of(cls, row: Row) -> Notification:
        values = {k: row[k] for k in cls.__dataclass_fields__}
        values["detail"] = json.loads(values["detail"])
        return cls(**values)


_COLS = "guid, identity_guid, kind, actor_guid, subject_guid, detail, created_at, read_at"


async def add(
    tx: Tx,
    identity_guid: str,
    kind: str,
    actor_guid: str | None,
    subject_guid: str | None,
    now: str,
    **detail: Any,
) -> None:
    await tx.execute(
        f"INSERT INTO notifications ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (new_guid(), identity_guid, kind, actor_guid, subject_guid, json.dumps(detail), now),
    )


async def listing(
    q: Queryable, identity_guid: str, unread_only: bool, page: PageRequest
) -> tuple[list[Notification], Page]:
    where = " AND read_at IS NULL" if unread_only else ""
    result = await fetch_page(
        q,
        select=_COLS,
        from_where=f"FROM notifications WHERE identity_guid = ?{where}",
        params=(identity_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    return [Notification.of(r) for r in result.rows], result


async def unread(q: Queryable, identity_guid: str) -> int:
    return int(
        await q.fetchval(
            "SELECT count(*) FROM notifications WHERE identity_guid = ? AND read_at IS NULL",
            (identity_guid,),
        )
    )


async def mark_read(tx: Tx, identity_guid: str, guid: str | None, now: str) -> int:
    if guid is None:
        return await tx.execute(
            "UPDATE notifications SET read_at = ? WHERE identity_guid = ? AND read_at IS NULL",
            (now, identity_guid),
        )
    return await tx.execute(
        "UPDATE notifications SET read_at = coalesce(read_at, ?) WHERE identity_guid = ?"
        " AND guid = ?",
        (now, identity_guid, guid),
    )


async def remove_for_subject(tx: Tx, subject_guid: str) -> None:
    """A deleted source takes its notifications with it."""
    await tx.execute("DELETE FROM notifications WHERE subject_guid = ?", (subject_guid,))


async def remove_for_posts(tx: Tx, where: str, param: str) -> None:
    """The posts `where` holds (a condition on posts from node.store.posts: BY_AUTHOR,
    IN_SPACE) are going: their notifications, and those of the likes, reshares and reactions
    on them, in one statement however many there are."""
    await tx.execute(
        "DELETE FROM notifications WHERE subject_guid IN ("
        f" SELECT guid FROM posts WHERE {where}"
        " UNION ALL SELECT i.guid FROM interactions i JOIN posts p ON p.guid = i.post_guid"
        f" WHERE p.{where}"
        " UNION ALL SELECT r.guid FROM reactions r JOIN posts p ON p.guid = r.post_guid"
        f" WHERE p.{where})",
        (param, param, param),
    )
