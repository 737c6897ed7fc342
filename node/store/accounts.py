"""Accounts and their changelog of events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.ids import new_guid
from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Account:
    guid: str
    email: str
    password_hash: str
    primary_identity_guid: str | None
    created_at: str
    updated_at: str
    last_active_at: str | None

    @classmethod
    def of(cls, row: Row) -> Account:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class AccountEvent:
    guid: str
    kind: str
    detail: dict[str, Any]
    created_at: str


_COLS = "guid, email, password_hash, primary_identity_guid, created_at, updated_at, last_active_at"


async def insert(tx: Tx, account: Account) -> None:
    await tx.execute(
        f"INSERT INTO accounts ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            account.guid,
            account.email,
            account.password_hash,
            account.primary_identity_guid,
            account.created_at,
            account.updated_at,
            account.last_active_at,
        ),
    )


async def get(q: Queryable, guid: str) -> Account | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM accounts WHERE guid = ?", (guid,))
    return Account.of(row) if row else None


async def email_taken(q: Queryable, email: str, except_guid: str = "") -> bool:
    return bool(
        await q.fetchval(
            "SELECT 1 FROM accounts WHERE lower(email) = lower(?) AND guid != ?",
            (email, except_guid),
        )
    )


async def find_by_login(q: Queryable, login: str) -> Account | None:
    """By email, or by the username of any of the account's local identities."""
    row = await q.fetchone(
        f"SELECT {_COLS} FROM accounts WHERE lower(email) = lower(?)"
        " UNION ALL SELECT a.guid, a.email, a.password_hash, a.primary_identity_guid,"
        " a.created_at, a.updated_at, a.last_active_at FROM accounts a"
        " JOIN identities i ON i.account_guid = a.guid"
        " WHERE i.domain IS NULL AND lower(i.username) = lower(?) LIMIT 1",
        (login, login),
    )
    return Account.of(row) if row else None


async def update(tx: Tx, guid: str, now: str, **values: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    await tx.execute(
        f"UPDATE accounts SET {sets}, updated_at = ? WHERE guid = ?", (*values.values(), now, guid)
    )


async def touch_active(tx: Tx, guid: str, now: str) -> None:
    await tx.execute("UPDATE accounts SET last_active_at = ? WHERE guid = ?", (now, guid))


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM accounts WHERE guid = ?", (guid,))


async def count(q: Queryable, active_since: str | None = None) -> int:
    if active_since is None:
        return int(await q.fetchval("SELECT count(*) FROM accounts"))
    return int(
        await q.fetchval("SELECT count(*) FROM accounts WHERE last_active_at >= ?", (active_since,))
    )


async def add_event(tx: Tx, account_guid: str, kind: str, now: str, **detail: Any) -> None:
    await tx.execute(
        "INSERT INTO account_events (guid, account_guid, kind, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (new_guid(), account_guid, kind, json.dumps(detail), now),
    )


async def events(
    q: Queryable, account_guid: str, page: PageRequest
) -> tuple[list[AccountEvent], Page]:
    result = await fetch_page(
        q,
        select="guid, kind, detail, created_at",
        from_where="FROM account_events WHERE account_guid = ?",
        params=(account_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    items = [
        AccountEvent(r["guid"], r["kind"], json.loads(r["detail"]), r["created_at"])
        for r in result.rows
    ]
    return items, result


async def insert_invite(tx: Tx, code: str, max_uses: int, expires_at: str | None, now: str) -> None:
    await tx.execute(
        "INSERT INTO registration_invites (code, max_uses, expires_at, created_at)"
        " VALUES (?, ?, ?, ?)",
        (code, max_uses, expires_at, now),
    )


async def use_invite(tx: Tx, code: str, now: str) -> bool:
    """Consume one use of a registration invite; False when unknown, used up or expired."""
    changed = await tx.execute(
        "UPDATE registration_invites SET uses = uses + 1 WHERE code = ? AND uses < max_uses"
        " AND (expires_at IS NULL OR expires_at > ?)",
        (code, now),
    )
    return changed > 0
