"""Notifications of an identity, with read state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.ids import new_guid
from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page
from node.store.shares import post_permitted


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


def _still_readable(identity_guid: str, now: str) -> tuple[str, list[str]]:
    """SQL true for a notification whose subject (a post, or a like, reshare or reaction of
    one) the identity may still read: one may lose sight of a post after being told of it (a
    space made private, an unfollow), and then the notification says nothing either."""
    readable, params = post_permitted("can_read", identity_guid, now, alias="sp")
    checks = [
        "SELECT 1 FROM posts sp WHERE sp.guid = notifications.subject_guid",
        "SELECT 1 FROM interactions si JOIN posts sp ON sp.guid = si.post_guid"
        " WHERE si.guid = notifications.subject_guid",
        "SELECT 1 FROM reactions sr JOIN posts sp ON sp.guid = sr.post_guid"
        " WHERE sr.guid = notifications.subject_guid",
    ]
    sql = " AND ".join(f"NOT EXISTS ({c} AND NOT ({readable}))" for c in checks)
    return sql, params * len(checks)


async def listing(
    q: Queryable, identity_guid: str, unread_only: bool, page: PageRequest, now: str
) -> tuple[list[Notification], Page]:
    where = " AND read_at IS NULL" if unread_only else ""
    readable, params = _still_readable(identity_guid, now)
    result = await fetch_page(
        q,
        select=_COLS,
        from_where=f"FROM notifications WHERE identity_guid = ?{where} AND {readable}",
        params=(identity_guid, *params),
        key=("created_at", "guid"),
        page=page,
    )
    return [Notification.of(r) for r in result.rows], result


async def unread(q: Queryable, identity_guid: str, now: str) -> int:
    readable, params = _still_readable(identity_guid, now)
    return int(
        await q.fetchval(
            "SELECT count(*) FROM notifications WHERE identity_guid = ? AND read_at IS NULL"
            f" AND {readable}",
            (identity_guid, *params),
        )
    )


async def mark_read(tx: Tx, identity_guid: str, guid: str | None, now: str) -> int:
    if guid is None:
        # Only those made by `now`: one that came after the reader asked is still unseen.
        return await tx.execute(
            "UPDATE notifications SET read_at = ? WHERE identity_guid = ? AND read_at IS NULL"
            " AND created_at <= ?",
            (now, identity_guid, now),
        )
    return await tx.execute(
        "UPDATE notifications SET read_at = coalesce(read_at, ?) WHERE identity_guid = ?"
        " AND guid = ?",
        (now, identity_guid, guid),
    )


async def remove_for_subject(tx: Tx, subject_guid: str) -> None:
    """A deleted source takes its notifications with it."""
    await tx.execute("DELETE FROM notifications WHERE subject_guid = ?", (subject_guid,))


async def remove_from(tx: Tx, actor_guid: str) -> None:
    """Everything an identity caused to be told (its account is gone)."""
    await tx.execute("DELETE FROM notifications WHERE actor_guid = ?", (actor_guid,))


async def remove_unmentioned(tx: Tx, post_guid: str) -> None:
    """An edited post's mentions of those it no longer names go; the ones it keeps stay, and
    so does the one of whom a reply answers (told of it once, as a mention, if it named them)."""
    await tx.execute(
        "DELETE FROM notifications WHERE subject_guid = ? AND kind = 'mention'"
        " AND identity_guid NOT IN (SELECT identity_guid FROM post_mentions WHERE post_guid = ?)"
        " AND identity_guid IS NOT (SELECT pp.author_guid FROM posts p"
        " JOIN posts pp ON pp.guid = p.in_reply_to_guid WHERE p.guid = ?)",
        (post_guid, post_guid, post_guid),
    )


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
