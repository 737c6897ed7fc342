"""Remote actors: where to deliver to them and how to check their signatures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.store import identities as identity_store
from node.store.db import Queryable, Row, Tx
from node.store.identities import Identity


@dataclass(frozen=True)
class RemoteActor:
    identity_guid: str
    uri: str
    actor_type: str
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    key_id: str
    public_key_pem: str
    fetched_at: str
    gone_at: str | None
    handle_checked_at: str | None = None  # see `handle_checked`

    @classmethod
    def of(cls, row: Row) -> RemoteActor:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox


_COLS = (
    "identity_guid, uri, actor_type, inbox, shared_inbox, outbox, followers, key_id,"
    " public_key_pem, fetched_at, gone_at, handle_checked_at"
)


async def by_uri(q: Queryable, uri: str) -> RemoteActor | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM remote_actors WHERE uri = ?", (uri,))
    return RemoteActor.of(row) if row else None


async def by_key_id(q: Queryable, key_id: str) -> RemoteActor | None:
    row = await q.fetchone(f"SELECT {_COLS} FROM remote_actors WHERE key_id = ?", (key_id,))
    return RemoteActor.of(row) if row else None


async def by_identity(q: Queryable, identity_guid: str) -> RemoteActor | None:
    row = await q.fetchone(
        f"SELECT {_COLS} FROM remote_actors WHERE identity_guid = ?", (identity_guid,)
    )
    return RemoteActor.of(row) if row else None


async def upsert(tx: Tx, ident: Identity, actor: RemoteActor) -> Identity:
    """Insert or refresh an actor and its identity; returns the stored identity."""
    existing = await by_uri(tx, actor.uri)
    if existing is None:
        await _free_handle(tx, ident.username, ident.domain, ident.kind, ident.guid)
        await identity_store.insert(tx, ident)
        guid = ident.guid
    else:
        guid = existing.identity_guid
        held = await identity_store.get(tx, guid)
        if held is not None and held.kind != ident.kind:
            # Its type changed (a Person now a Group): its handle is of the other kind now.
            await _free_handle(tx, held.username, held.domain, ident.kind, guid)
            await tx.execute("UPDATE identities SET kind = ? WHERE guid = ?", (ident.kind, guid))
        await identity_store.update(
            tx,
            guid,
            actor.fetched_at,
            {
                "display_name": ident.display_name,
                "bio": ident.bio,
                "fields": ident.fields,
                "locked": ident.locked,
                "discoverable": ident.discoverable,
            },
        )
    await tx.execute(
        f"INSERT INTO remote_actors ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
        " ON CONFLICT (uri) DO UPDATE SET actor_type = excluded.actor_type,"
        " inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, outbox = excluded.outbox,"
        " followers = excluded.followers, key_id = excluded.key_id,"
        " public_key_pem = excluded.public_key_pem, fetched_at = excluded.fetched_at,"
        " gone_at = NULL",
        (
            guid,
            actor.uri,
            actor.actor_type,
            actor.inbox,
            actor.shared_inbox,
            actor.outbox,
            actor.followers,
            actor.key_id,
            actor.public_key_pem,
            actor.fetched_at,
        ),
    )
    stored = await identity_store.get(tx, guid)
    assert stored is not None
    return stored


async def take_handle(tx: Tx, identity_guid: str, domain: str) -> Identity:
    """A remote identity is known as `username@domain` from now on (WebFinger gave it that
    handle, on another domain than the one it had); returns it."""
    ident = await identity_store.get(tx, identity_guid)
    assert ident is not None
    await _free_handle(tx, ident.username, domain, ident.kind, identity_guid)
    await tx.execute("UPDATE identities SET domain = ? WHERE guid = ?", (domain, identity_guid))
    moved = await identity_store.get(tx, identity_guid)
    assert moved is not None
    return moved


async def _free_handle(
    tx: Tx, username: str, domain: str | None, kind: identity_store.Kind, taker: str
) -> None:
    # Only an identity of the same kind holds the handle: a person and a group may share one.
    clash = await identity_store.get_by_handle(tx, username, domain, kind)
    if clash is not None and clash.guid != taker and not clash.local:
        # The handle moved to a new actor: the newest actor owns it.
        await tx.execute("DELETE FROM identities WHERE guid = ?", (clash.guid,))


async def handle_checked(tx: Tx, identity_guid: str, now: str) -> None:
    """WebFinger gave this actor for its handle: lookups of the handle may answer with it."""
    await tx.execute(
        "UPDATE remote_actors SET handle_checked_at = ? WHERE identity_guid = ?",
        (now, identity_guid),
    )


async def mark_gone(tx: Tx, inbox: str, now: str) -> None:
    """`inbox` answered 410 Gone: the actor whose own inbox it is, is gone. A shared inbox (or
    one several actors give as theirs) speaks for none of them: nobody is marked."""
    await tx.execute(
        "UPDATE remote_actors SET gone_at = ? WHERE inbox = ? AND gone_at IS NULL"
        " AND (SELECT count(*) FROM remote_actors WHERE inbox = ? OR shared_inbox = ?) = 1",
        (now, inbox, inbox, inbox),
    )


async def mark_identity_gone(tx: Tx, identity_guid: str, now: str) -> None:
    """The actor said itself that it is gone (a Delete of itself)."""
    await tx.execute(
        "UPDATE remote_actors SET gone_at = ? WHERE identity_guid = ? AND gone_at IS NULL",
        (now, identity_guid),
    )


async def follower_inboxes(
    q: Queryable, followee_guid: str, refused: Callable[[str], bool] | None = None
) -> list[str]:
    """Distinct delivery inboxes (shared where known) of an identity's remote followers; not
    for those whose handle's domain is `refused` (see `_reachable`)."""
    rows = await q.fetchall(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox), i.domain FROM follows f"
        " JOIN remote_actors a ON a.identity_guid = f.follower_guid"
        " JOIN identities i ON i.guid = f.follower_guid"
        " WHERE f.followee_guid = ? AND f.state = 'accepted' AND a.gone_at IS NULL",
        (followee_guid,),
    )
    return _reachable(rows, refused)


async def acquainted_inboxes(q: Queryable, identity_guid: str) -> list[str]:
    """Distinct delivery inboxes of the remote actors that know an identity: those it follows
    or is followed by, asked or accepted (a remote space's Group too), the remote members of
    our spaces it is in, and those it shares with or is shared with (their pods hold a copy of
    the share, which must go when the identity does)."""
    rows = await q.fetchall(
        "SELECT DISTINCT coalesce(shared_inbox, inbox) FROM remote_actors"
        " WHERE gone_at IS NULL AND identity_guid IN ("
        " SELECT followee_guid FROM follows WHERE follower_guid = ?"
        " UNION SELECT follower_guid FROM follows WHERE followee_guid = ?"
        " UNION SELECT o.identity_guid FROM space_members m"
        " JOIN space_members o ON o.space_guid = m.space_guid WHERE m.identity_guid = ?"
        " UNION SELECT grantee_guid FROM shares WHERE owner_guid = ?"
        " UNION SELECT owner_guid FROM shares WHERE grantee_guid = ?)",
        (identity_guid,) * 5,
    )
    return [r[0] for r in rows]


async def engaged_inboxes(q: Queryable, post_guid: str) -> list[str]:
    """Distinct delivery inboxes of the remote actors that liked, reshared, reacted to or
    answered a post: their pods hold a copy of it, followers of its author there or not."""
    rows = await q.fetchall(
        "SELECT DISTINCT coalesce(shared_inbox, inbox) FROM remote_actors"
        " WHERE gone_at IS NULL AND identity_guid IN ("
        " SELECT identity_guid FROM interactions WHERE post_guid = ?"
        " UNION SELECT identity_guid FROM reactions WHERE post_guid = ?"
        " UNION SELECT author_guid FROM posts WHERE in_reply_to_guid = ?)",
        (post_guid, post_guid, post_guid),
    )
    return [r[0] for r in rows]


async def inboxes_of(
    q: Queryable, identity_guids: list[str], refused: Callable[[str], bool] | None = None
) -> list[str]:
    """Distinct delivery inboxes of these identities; see `follower_inboxes` for `refused`."""
    if not identity_guids:
        return []
    marks = ",".join("?" * len(identity_guids))
    rows = await q.fetchall(
        f"SELECT DISTINCT coalesce(a.shared_inbox, a.inbox), i.domain FROM remote_actors a"
        f" JOIN identities i ON i.guid = a.identity_guid"
        f" WHERE a.identity_guid IN ({marks}) AND a.gone_at IS NULL",
        identity_guids,
    )
    return _reachable(rows, refused)


def _reachable(rows: list[Row], refused: Callable[[str], bool] | None) -> list[str]:
    """The inboxes of (inbox, handle domain) rows, but those only accounts whose handle's
    domain is `refused` have: a handle may be on another domain than its actor's inbox (a
    split domain), and a block of either domain refuses the account."""
    if refused is None:
        return list(dict.fromkeys(r[0] for r in rows))
    return list(dict.fromkeys(r[0] for r in rows if not (r[1] and refused(r[1]))))
