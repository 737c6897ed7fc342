"""Follow relations between identities, pending or accepted."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx
from node.store.identities import COLS as IDENTITY_COLS
from node.store.identities import Identity
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Follow:
    guid: str
    follower_guid: str
    followee_guid: str
    state: str
    ap_id: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Row) -> Follow:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


_COLS = "guid, follower_guid, followee_guid, state, ap_id, created_at, updated_at"


async def insert(tx: Tx, follow: Follow) -> None:
    await tx.execute(
        f"INSERT INTO follows ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            follow.guid,
            follow.follower_guid,
            follow.followee_guid,
            follow.state,
            follow.ap_id,
            follow.created_at,
            follow.updated_at,
        ),
    )


async def get(q: Queryable, guid: str) -> Follow | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM follows WHERE guid = ?", (guid,))
    return Follow.of(row) if row else None


async def between(q: Queryable, follower: str, followee: str) -> Follow | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM follows WHERE follower_guid = ? AND followee_guid = ?",
        (follower, followee),
    )
    return Follow.of(row) if row else None


async def by_ap_id(q: Queryable, ap_id: str) -> Follow | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM follows WHERE ap_id = ?", (ap_id,))
    return Follow.of(row) if row else None


async def set_state(tx: Tx, guid: str, state: str, now: str) -> None:
    await tx.execute(
        "UPDATE follows SET state = ?, updated_at = ? WHERE guid = ?", (state, now, guid)
    )


async def set_ap_id(tx: Tx, guid: str, ap_id: str, now: str) -> None:
    await tx.execute(
        "UPDATE follows SET ap_id = ?, updated_at = ? WHERE guid = ?", (ap_id, now, guid)
    )


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM follows WHERE guid = ?", (guid,))


async def is_following(q: Queryable, follower: str, followee: str) -> bool:
    return bool(
        await q.fetchval(
            "SELECT 1 FROM follows WHERE follower_guid = ? AND followee_guid = ?"
            " AND state = 'accepted'",
            (follower, followee),
        )
    )


# A follow and the identity on its other side, in one row.
_PAIR_COLS = ", ".join(
    [f"f.{c} AS f_{c}" for c in _COLS.split(", ")]
    + [f"i.{c.strip()}" for c in IDENTITY_COLS.split(",")]
)


# Following a remote private space's Group is being a member of it: who is, is for its
# members (its Group lists them for public spaces only), never in a following or followers list.
_NOT_PRIVATE_GROUP = (
    " AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.actor_guid = f.followee_guid"
    " AND s.visibility != 'public')"
)


def _people(side: str, other: str) -> str:
    return (
        f"FROM follows f JOIN identities i ON i.guid = f.{other} WHERE f.{side} = ? AND f.state = ?"
        + _NOT_PRIVATE_GROUP
    )


async def followers(
    q: Queryable, identity: str, page: PageRequest, state: str = "accepted"
) -> tuple[list[tuple[Follow, Identity]], Page]:
    return await _list(q, "followee_guid", "follower_guid", identity, page, state)


async def following(
    q: Queryable, identity: str, page: PageRequest, state: str = "accepted"
) -> tuple[list[tuple[Follow, Identity]], Page]:
    return await _list(q, "follower_guid", "followee_guid", identity, page, state)


async def _list(
    q: Queryable, side: str, other: str, identity: str, page: PageRequest, state: str
) -> tuple[list[tuple[Follow, Identity]], Page]:
    result = await fetch_page(
        q,
        select=_PAIR_COLS,
        from_where=_people(side, other),
        params=(identity, state),
        key=("f.created_at", "f.guid"),
        page=page,
    )
    return [_pair(row) for row in result.rows], result


async def local_followers(q: Queryable, identity: str) -> list[Follow]:
    """The accepted follows of `identity` by identities of ours, oldest first."""
    cols = ", ".join(f"f.{c}" for c in _COLS.split(", "))
    rows = await q.fetchall(
        f"SELECT {cols} FROM follows f JOIN identities i ON i.guid = f.follower_guid"
        " WHERE f.followee_guid = ? AND f.state = 'accepted' AND i.domain IS NULL"
        " ORDER BY f.created_at, f.guid",
        (identity,),
    )
    return [Follow.of(row) for row in rows]


async def pending_to(q: Queryable, identity: str) -> list[tuple[Follow, Identity]]:
    """Every request waiting for `identity`, oldest first, with who asked."""
    rows = await q.fetchall(
        f"SELECT {_PAIR_COLS} {_people('followee_guid', 'follower_guid')}"
        " ORDER BY f.created_at, f.guid",
        (identity, "pending"),
    )
    return [_pair(row) for row in rows]


def _pair(row: Row) -> tuple[Follow, Identity]:
    return Follow(*(row[f"f_{c}"] for c in _COLS.split(", "))), Identity.of(row)


async def count(q: Queryable, identity: str, side: str) -> int:
    column = "followee_guid" if side == "followers" else "follower_guid"
    return int(
        await q.fetchval(
            f"SELECT count(*) FROM follows f WHERE {column} = ? AND state = 'accepted'"
            + _NOT_PRIVATE_GROUP,
            (identity,),
        )
    )
