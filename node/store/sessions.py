"""Sessions (login) and app tokens: both are bearer tokens stored by their SHA-256 hash."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Session:
    guid: str
    account_guid: str
    identity_guid: str
    kind: str
    name: str
    scopes: frozenset[str]
    user_agent: str
    created_at: str
    last_seen_at: str
    expires_at: str | None

    @classmethod
    def of(cls, row: Row) -> Session:
        # By position, in _COLS order: every authenticated request makes one of these.
        guid, account, identity, kind, name, scopes, agent, created, seen, expires = row[:10]
        return cls(
            guid=guid,
            account_guid=account,
            identity_guid=identity,
            kind=kind,
            name=name,
            scopes=frozenset(scopes.split()),
            user_agent=agent,
            created_at=created,
            last_seen_at=seen,
            expires_at=expires,
        )


_COLS = (
    "guid, account_guid, identity_guid, kind, name, scopes, user_agent, created_at,"
    " last_seen_at, expires_at"
)


async def insert(tx: Tx, session: Session, token_hash: str) -> None:
    await tx.execute(
        f"INSERT INTO sessions ({_COLS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session.guid,
            session.account_guid,
            session.identity_guid,
            session.kind,
            session.name,
            " ".join(sorted(session.scopes)),
            session.user_agent,
            session.created_at,
            session.last_seen_at,
            session.expires_at,
            token_hash,
        ),
    )


async def by_token_hash(q: Queryable, token_hash: str) -> Session | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM sessions WHERE token_hash = ?", (token_hash,))
    return Session.of(row) if row else None


async def get(q: Queryable, account_guid: str, guid: str) -> Session | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM sessions WHERE guid = ? AND account_guid = ?", (guid, account_guid)
    )
    return Session.of(row) if row else None


async def list_for_account(
    q: Queryable, account_guid: str, page: PageRequest
) -> tuple[list[Session], Page]:
    result = await fetch_page(
        q,
        select=_COLS,
        from_where="FROM sessions WHERE account_guid = ?",
        params=(account_guid,),
        key=("created_at", "guid"),
        page=page,
    )
    return [Session.of(r) for r in result.rows], result


async def touch(tx: Tx, guid: str, now: str, user_agent: str) -> None:
    await tx.execute(
        "UPDATE sessions SET last_seen_at = ?, user_agent = ? WHERE guid = ?",
        (now, user_agent, guid),
    )


async def set_identity(tx: Tx, guid: str, identity_guid: str) -> None:
    await tx.execute("UPDATE sessions SET identity_guid = ? WHERE guid = ?", (identity_guid, guid))


async def end_other_logins(tx: Tx, account_guid: str, keep: str | None) -> int:
    """Delete the account's login sessions but `keep`; app tokens stay. How many went."""
    return await tx.execute(
        "DELETE FROM sessions WHERE account_guid = ? AND kind = 'login' AND guid IS NOT ?",
        (account_guid, keep),
    )


async def delete(tx: Tx, account_guid: str, guid: str) -> bool:
    return (
        await tx.execute(
            "DELETE FROM sessions WHERE guid = ? AND account_guid = ?", (guid, account_guid)
        )
        > 0
    )
