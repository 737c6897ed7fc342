"""Identities: the local ones of this pod's accounts and the remote ones we know of."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page

# What a handle names (a remote pod may give one name to both: Lemmy's user and community);
# a Group actor is a group, every other actor and every identity of ours a person.
Kind = Literal["person", "group"]


@dataclass(frozen=True)
class Identity:
    guid: str
    account_guid: str | None
    username: str
    domain: str | None
    display_name: str
    bio: str
    fields: list[dict[str, str]] = field(default_factory=list)
    locked: bool = False
    discoverable: bool = True
    created_at: str = ""
    updated_at: str = ""
    uri: str | None = None  # a remote identity's actor; None for ours (theirs follows the name)
    moved_to: str | None = None  # the identity a remote account moved to (a proven Move)
    kind: Kind = "person"

    @property
    def local(self) -> bool:
        return self.domain is None

    @classmethod
    def of(cls, row: Row) -> Identity:
        return cls(
            guid=row["guid"],
            account_guid=row["account_guid"],
            username=row["username"],
            domain=row["domain"],
            display_name=row["display_name"],
            bio=row["bio"],
            fields=json.loads(row["fields"]),
            locked=bool(row["locked"]),
            discoverable=bool(row["discoverable"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            uri=row["uri"],
            moved_to=row["moved_to"],
            kind=row["kind"],
        )


_WRITTEN = (
    "guid, account_guid, username, domain, display_name, bio, fields, locked, discoverable,"
    " created_at, updated_at, uri, kind"
)
COLS = f"{_WRITTEN}, moved_to"


async def insert(tx: Tx, ident: Identity) -> None:
    await tx.execute(
        f"INSERT INTO identities ({_WRITTEN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ident.guid,
            ident.account_guid,
            ident.username,
            ident.domain,
            ident.display_name,
            ident.bio,
            json.dumps(ident.fields),
            int(ident.locked),
            int(ident.discoverable),
            ident.created_at,
            ident.updated_at,
            ident.uri,
            ident.kind,
        ),
    )


async def get(q: Queryable, guid: str) -> Identity | None:
    row = await q.fetchone(f"SELECT {COLS} FROM identities WHERE guid = ?", (guid,))
    return Identity.of(row) if row else None


async def get_many(q: Queryable, guids: list[str]) -> dict[str, Identity]:
    unique = list(dict.fromkeys(guids))
    if not unique:
        return {}
    marks = ",".join("?" * len(unique))
    rows = await q.fetchall(f"SELECT {COLS} FROM identities WHERE guid IN ({marks})", unique)
    return {r["guid"]: Identity.of(r) for r in rows}


async def get_by_handle(
    q: Queryable, username: str, domain: str | None, kind: Kind | None = None
) -> Identity | None:
    """The identity of this handle and `kind`; of either kind when None, the person first (a
    handle is a person's to whoever mentions it, as on Mastodon)."""
    row = await q.fetchone(
        f"SELECT {COLS} FROM identities WHERE lower(username) = lower(?)"
        " AND coalesce(domain, '') = ? AND kind IN (?, ?) ORDER BY kind = 'group' LIMIT 1",
        (username, domain or "", kind or "person", kind or "group"),
    )
    return Identity.of(row) if row else None


async def local_by_usernames(q: Queryable, usernames: list[str]) -> list[Identity]:
    """The local identities with these usernames (any case), in the order given; one query.

    Callers bound the list (the inbox allows MAX_ADDRESSES per addressing list)."""
    names = list(dict.fromkeys(u.lower() for u in usernames))
    if not names:
        return []
    rows = await q.fetchall(
        f"SELECT {COLS} FROM identities WHERE lower(username) IN ({', '.join('?' * len(names))})"
        " AND coalesce(domain, '') = ''",
        names,
    )
    found = {r["username"].lower(): Identity.of(r) for r in rows}
    return [found[n] for n in names if n in found]


async def list_for_account(
    q: Queryable, account_guid: str, page: PageRequest
) -> tuple[list[Identity], Page]:
    result = await fetch_page(
        q,
        select=COLS,
        from_where="FROM identities WHERE account_guid = ?",
        params=(account_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    return [Identity.of(r) for r in result.rows], result


async def guids_for_account(q: Queryable, account_guid: str) -> list[str]:
    rows = await q.fetchall("SELECT guid FROM identities WHERE account_guid = ?", (account_guid,))
    return [r[0] for r in rows]


async def retire_names(tx: Tx, guids: list[str], now: str) -> None:
    """Keep the names of these local identities, about to be deleted, from ever coming back."""
    marks = ",".join("?" * len(guids)) or "NULL"
    await tx.execute(
        "INSERT OR IGNORE INTO retired_names (name, retired_at) SELECT username, ?"
        f" FROM identities WHERE guid IN ({marks}) AND domain IS NULL",
        (now, *guids),
    )


async def name_retired(q: Queryable, name: str) -> bool:
    """Whether `name` was a local identity's, since deleted (ignoring case)."""
    return bool(await q.fetchval("SELECT 1 FROM retired_names WHERE name = ?", (name,)))


async def update(tx: Tx, guid: str, now: str, values: dict[str, Any]) -> None:
    encoded = {
        k: json.dumps(v) if k == "fields" else int(v) if isinstance(v, bool) else v
        for k, v in values.items()
    }
    sets = "".join(f"{k} = ?, " for k in encoded)
    await tx.execute(
        f"UPDATE identities SET {sets}updated_at = ? WHERE guid = ?", (*encoded.values(), now, guid)
    )


async def count_local(q: Queryable) -> int:
    return int(await q.fetchval("SELECT count(*) FROM identities WHERE domain IS NULL"))
