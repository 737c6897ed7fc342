"""Spaces, their members, invites and applications, and the posts in a space."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable, Row, Tx
from node.store.identities import COLS as IDENTITY_COLS
from node.store.identities import Identity
from node.store.paging import Page, PageRequest, fetch_page
from node.store.posts import COLS as POST_COLS
from node.store.posts import REFS, Post, PostRef, readable_page


@dataclass(frozen=True)
class Space:
    guid: str
    name: str
    domain: str | None  # None for spaces of this pod
    actor_guid: str | None  # a remote space's Group, as an identity here
    display_name: str
    description: str
    visibility: str
    join_mode: str
    created_at: str
    updated_at: str

    @property
    def local(self) -> bool:
        return self.domain is None

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    @classmethod
    def of(cls, row: Row) -> Space:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Member:
    space_guid: str
    identity_guid: str
    role: str
    follow_ap_id: str | None
    joined_at: str


@dataclass(frozen=True)
class Invite:
    space_guid: str
    admin_guid: str
    code: str
    max_uses: int | None
    uses: int
    expires_at: str | None
    join_mode_override: str | None
    created_at: str

    @classmethod
    def of(cls, row: Row) -> Invite:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Application:
    guid: str
    space_guid: str
    applicant_guid: str
    message: str
    state: str
    follow_ap_id: str | None
    decided_by_guid: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Row) -> Application:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


COLS = (
    "s.guid, s.name, s.domain, s.actor_guid, s.display_name, s.description, s.visibility,"
    " s.join_mode, s.created_at, s.updated_at"
)
_INVITE_COLS = (
    "space_guid, admin_guid, code, max_uses, uses, expires_at, join_mode_override, created_at"
)
_APP_COLS = (
    "guid, space_guid, applicant_guid, message, state, follow_ap_id, decided_by_guid,"
    " created_at, updated_at"
)

# --- spaces ---


async def insert(tx: Tx, space: Space) -> None:
    await tx.execute(
        f"INSERT INTO spaces ({COLS.replace('s.', '')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            space.guid, space.name, space.domain, space.actor_guid, space.display_name,
            space.description, space.visibility, space.join_mode, space.created_at,
            space.updated_at,
        ),
    )  # fmt: skip


async def get(q: Queryable, guid: str) -> Space | None:
    row = await q.fetchone(f"SELECT {COLS} FROM spaces s WHERE s.guid = ?", (guid,))
    return Space.of(row) if row else None


async def by_name(q: Queryable, name: str, domain: str | None = None) -> Space | None:
    row = await q.fetchone(
        f"SELECT {COLS} FROM spaces s WHERE lower(s.name) = lower(?)"
        " AND coalesce(s.domain, '') = ?",
        (name, domain or ""),
    )
    return Space.of(row) if row else None


async def by_actor(q: Queryable, actor_guid: str) -> Space | None:
    row = await q.fetchone(f"SELECT {COLS} FROM spaces s WHERE s.actor_guid = ?", (actor_guid,))
    return Space.of(row) if row else None


async def update(tx: Tx, guid: str, now: str, values: dict[str, str]) -> None:
    allowed = {"display_name", "description", "visibility", "join_mode", "name"}
    assert set(values) <= allowed
    sets = "".join(f"{k} = ?, " for k in values)
    await tx.execute(
        f"UPDATE spaces SET {sets}updated_at = ? WHERE guid = ?", (*values.values(), now, guid)
    )


async def delete(tx: Tx, guid: str) -> None:
    # Its posts, members, invites and applications go with it (ON DELETE CASCADE).
    await tx.execute("DELETE FROM spaces WHERE guid = ?", (guid,))


async def make_posts_private(tx: Tx, guid: str) -> None:
    """A space turned private takes its public posts with it: members only, so nobody they
    named outside it reads them either. Ours are remembered as once public (see
    posts_once_public)."""
    await tx.execute(
        "INSERT OR IGNORE INTO posts_once_public (post_guid) SELECT guid FROM posts"
        " WHERE space_guid = ? AND visibility = 'public' AND local = 1",
        (guid,),
    )
    await tx.execute(
        "UPDATE posts SET visibility = 'space' WHERE space_guid = ? AND visibility = 'public'",
        (guid,),
    )
    await tx.execute(
        "DELETE FROM post_recipients WHERE post_guid IN"
        " (SELECT guid FROM posts WHERE space_guid = ?)",
        (guid,),
    )


async def mine(q: Queryable, identity_guid: str, page: PageRequest) -> tuple[list[Space], Page]:
    result = await fetch_page(
        q,
        select=COLS,
        from_where=(
            "FROM spaces s JOIN space_memberships m ON m.space_guid = s.guid"
            " WHERE m.identity_guid = ?"
        ),
        params=(identity_guid,),
        key=("s.created_at", "s.guid"),
        page=page,
    )
    return [Space.of(r) for r in result.rows], result


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def discover(q: Queryable, text: str, page: PageRequest) -> tuple[list[Space], Page]:
    """Public spaces of this pod, matching `text` in their name, display name or description."""
    where = "s.visibility = 'public' AND s.domain IS NULL"
    params: list[str] = []
    if text:
        where += (
            " AND (s.name LIKE ? ESCAPE '\\' OR s.display_name LIKE ? ESCAPE '\\'"
            " OR s.description LIKE ? ESCAPE '\\')"
        )
        params = [_like(text)] * 3
    result = await fetch_page(
        q,
        select=COLS,
        from_where=f"FROM spaces s WHERE {where}",
        params=params,
        key=("s.created_at", "s.guid"),
        page=page,
    )
    return [Space.of(r) for r in result.rows], result


# --- members ---


async def role(q: Queryable, space_guid: str, identity_guid: str) -> str | None:
    """'admin', 'member', or None for someone who does not belong to the space."""
    return await q.fetchval(
        "SELECT role FROM space_memberships WHERE space_guid = ? AND identity_guid = ?",
        (space_guid, identity_guid),
    )


async def member(q: Queryable, space_guid: str, identity_guid: str) -> Member | None:
    row = await q.fetchone(
        "SELECT space_guid, identity_guid, role, follow_ap_id, joined_at FROM space_members"
        " WHERE space_guid = ? AND identity_guid = ?",
        (space_guid, identity_guid),
    )
    return Member(*row) if row else None


async def member_by_follow(q: Queryable, follow_ap_id: str) -> Member | None:
    row = await q.fetchone(
        "SELECT space_guid, identity_guid, role, follow_ap_id, joined_at FROM space_members"
        " WHERE follow_ap_id = ?",
        (follow_ap_id,),
    )
    return Member(*row) if row else None


async def add_member(tx: Tx, m: Member) -> None:
    await tx.execute(
        "INSERT INTO space_members (space_guid, identity_guid, role, follow_ap_id, joined_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (space_guid, identity_guid)"
        " DO UPDATE SET follow_ap_id = coalesce(excluded.follow_ap_id, follow_ap_id)",
        (m.space_guid, m.identity_guid, m.role, m.follow_ap_id, m.joined_at),
    )


async def remove_member(tx: Tx, space_guid: str, identity_guid: str) -> None:
    await tx.execute(
        "DELETE FROM space_members WHERE space_guid = ? AND identity_guid = ?",
        (space_guid, identity_guid),
    )
    # An admin's invite is theirs: it stops working when they go.
    await delete_invite(tx, space_guid, identity_guid)


async def remove_everywhere(tx: Tx, identity_guid: str, now: str) -> None:
    """An identity that is gone leaves every space it belongs to, and its pending applications
    are withdrawn."""
    await tx.execute("DELETE FROM space_members WHERE identity_guid = ?", (identity_guid,))
    await tx.execute(
        "UPDATE space_applications SET state = 'withdrawn', decided_by_guid = NULL,"
        " updated_at = ? WHERE applicant_guid = ? AND state = 'pending'",
        (now, identity_guid),
    )


async def set_role(tx: Tx, space_guid: str, identity_guid: str, new_role: str) -> None:
    await tx.execute(
        "UPDATE space_members SET role = ? WHERE space_guid = ? AND identity_guid = ?",
        (new_role, space_guid, identity_guid),
    )
    if new_role != "admin":
        await delete_invite(tx, space_guid, identity_guid)


async def admins(q: Queryable, space_guid: str) -> list[str]:
    rows = await q.fetchall(
        "SELECT identity_guid FROM space_members WHERE space_guid = ? AND role = 'admin'",
        (space_guid,),
    )
    return [r[0] for r in rows]


async def administered_by(q: Queryable, identity_guids: list[str]) -> list[Space]:
    """The spaces any of these identities is an admin of, by name."""
    marks = ", ".join("?" * len(identity_guids))
    rows = await q.fetchall(
        f"SELECT {COLS} FROM spaces s WHERE s.guid IN (SELECT space_guid FROM space_members"
        f" WHERE role = 'admin' AND identity_guid IN ({marks})) ORDER BY lower(s.name)",
        tuple(identity_guids),
    )
    return [Space.of(r) for r in rows]


async def member_count(q: Queryable, space_guid: str) -> int:
    return int(
        await q.fetchval(
            "SELECT count(*) FROM space_memberships WHERE space_guid = ?", (space_guid,)
        )
    )


async def members(
    q: Queryable, space_guid: str, page: PageRequest
) -> tuple[list[tuple[Member, Identity]], Page]:
    cols = ", ".join(f"i.{c.strip()}" for c in IDENTITY_COLS.split(","))
    result = await fetch_page(
        q,
        select=f"m.role AS m_role, m.joined_at AS m_joined, {cols}",
        from_where=(
            "FROM space_memberships m JOIN identities i ON i.guid = m.identity_guid"
            " WHERE m.space_guid = ?"
        ),
        params=(space_guid,),
        key=("m.joined_at", "m.identity_guid"),
        page=page,
    )
    out = [
        (Member(space_guid, r["guid"], r["m_role"], None, r["m_joined"]), Identity.of(r))
        for r in result.rows
    ]
    return out, result


async def remote_member_inboxes(q: Queryable, space_guid: str, exclude: list[str]) -> list[str]:
    """Distinct delivery inboxes of a space's remote members, without those of `exclude`."""
    marks = ",".join("?" * len(exclude)) or "NULL"
    rows = await q.fetchall(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) FROM space_members m"
        " JOIN remote_actors a ON a.identity_guid = m.identity_guid"
        " WHERE m.space_guid = ? AND a.gone_at IS NULL"
        f" AND coalesce(a.shared_inbox, a.inbox) NOT IN (SELECT coalesce(x.shared_inbox, x.inbox)"
        f"  FROM remote_actors x WHERE x.identity_guid IN ({marks}))",
        (space_guid, *exclude),
    )
    return [r[0] for r in rows]


async def member_refs(
    q: Queryable, space_guid: str, page: PageRequest
) -> tuple[list[tuple[str, str | None]], Page]:
    """(username, remote actor URI or None for local ones) of members, for collections."""
    result = await fetch_page(
        q,
        select="i.username AS username, a.uri AS uri",
        from_where=(
            "FROM space_members m JOIN identities i ON i.guid = m.identity_guid"
            " LEFT JOIN remote_actors a ON a.identity_guid = m.identity_guid"
            " WHERE m.space_guid = ?"
        ),
        params=(space_guid,),
        key=("m.joined_at", "m.identity_guid"),
        page=page,
    )
    return [(r["username"], r["uri"]) for r in result.rows], result


# --- invites ---


async def invite_of(q: Queryable, space_guid: str, admin_guid: str) -> Invite | None:
    row = await q.fetchone(
        f"SELECT {_INVITE_COLS} FROM space_invites WHERE space_guid = ? AND admin_guid = ?",
        (space_guid, admin_guid),
    )
    return Invite.of(row) if row else None


async def invite_by_code(q: Queryable, code: str) -> Invite | None:
    row = await q.fetchone(f"SELECT {_INVITE_COLS} FROM space_invites WHERE code = ?", (code,))
    return Invite.of(row) if row else None


async def put_invite(tx: Tx, invite: Invite) -> None:
    await delete_invite(tx, invite.space_guid, invite.admin_guid)
    await tx.execute(
        f"INSERT INTO space_invites ({_INVITE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            invite.space_guid, invite.admin_guid, invite.code, invite.max_uses, invite.uses,
            invite.expires_at, invite.join_mode_override, invite.created_at,
        ),
    )  # fmt: skip


async def delete_invite(tx: Tx, space_guid: str, admin_guid: str) -> int:
    return await tx.execute(
        "DELETE FROM space_invites WHERE space_guid = ? AND admin_guid = ?",
        (space_guid, admin_guid),
    )


async def use_invite(tx: Tx, code: str, now: str) -> bool:
    """Count one use, if the invite still has one left and has not expired."""
    return (
        await tx.execute(
            "UPDATE space_invites SET uses = uses + 1 WHERE code = ?"
            " AND (max_uses IS NULL OR uses < max_uses) AND (expires_at IS NULL OR expires_at > ?)",
            (code, now),
        )
        == 1
    )


# --- applications ---


async def insert_application(tx: Tx, a: Application) -> None:
    await tx.execute(
        f"INSERT INTO space_applications ({_APP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.guid, a.space_guid, a.applicant_guid, a.message, a.state, a.follow_ap_id,
            a.decided_by_guid, a.created_at, a.updated_at,
        ),
    )  # fmt: skip


async def application(q: Queryable, guid: str) -> Application | None:
    row = await q.fetchone(f"SELECT {_APP_COLS} FROM space_applications WHERE guid = ?", (guid,))
    return Application.of(row) if row else None


async def pending_application(
    q: Queryable, space_guid: str, applicant_guid: str
) -> Application | None:
    row = await q.fetchone(
        f"SELECT {_APP_COLS} FROM space_applications WHERE space_guid = ? AND applicant_guid = ?"
        " AND state = 'pending'",
        (space_guid, applicant_guid),
    )
    return Application.of(row) if row else None


async def application_by_follow(q: Queryable, follow_ap_id: str) -> Application | None:
    row = await q.fetchone(
        f"SELECT {_APP_COLS} FROM space_applications WHERE follow_ap_id = ? AND state = 'pending'",
        (follow_ap_id,),
    )
    return Application.of(row) if row else None


async def set_application_follow(tx: Tx, guid: str, follow_ap_id: str, now: str) -> None:
    """A remote applicant asked again: their new Follow is the one the application answers."""
    await tx.execute(
        "UPDATE space_applications SET follow_ap_id = ?, updated_at = ? WHERE guid = ?",
        (follow_ap_id, now, guid),
    )


async def close_applications(
    tx: Tx, space_guid: str, applicant_guid: str, state: str, now: str
) -> None:
    """Close whatever application of theirs is still pending (undecided by anyone)."""
    await tx.execute(
        "UPDATE space_applications SET state = ?, updated_at = ? WHERE space_guid = ?"
        " AND applicant_guid = ? AND state = 'pending'",
        (state, now, space_guid, applicant_guid),
    )


async def set_application_state(
    tx: Tx, guid: str, state: str, decided_by: str | None, now: str
) -> None:
    await tx.execute(
        "UPDATE space_applications SET state = ?, decided_by_guid = ?, updated_at = ?"
        " WHERE guid = ?",
        (state, decided_by, now, guid),
    )


async def applications(
    q: Queryable,
    space_guid: str,
    applicant_guid: str | None,
    state: str | None,
    page: PageRequest,
) -> tuple[list[Application], Page]:
    """A space's applications; only one applicant's when `applicant_guid` is given."""
    where = "space_guid = ?"
    params: list[str] = [space_guid]
    if applicant_guid is not None:
        where += " AND applicant_guid = ?"
        params.append(applicant_guid)
    if state is not None:
        where += " AND state = ?"
        params.append(state)
    result = await fetch_page(
        q,
        select=_APP_COLS,
        from_where=f"FROM space_applications WHERE {where}",
        params=params,
        key=("created_at", "guid"),
        page=page,
    )
    return [Application.of(r) for r in result.rows], result


# --- posts ---


async def posts(
    q: Queryable,
    space_guid: str,
    viewer: str | None,
    now: str,
    page: PageRequest,
    public_only: bool = False,
) -> tuple[list[PostRef], Page]:
    """Top-level posts of a space that the viewer may read, newest first."""
    where = "p.space_guid = ? AND p.in_reply_to_ap_id IS NULL"
    return await readable_page(
        q, viewer, now, page, where, (space_guid,), shape=REFS, public_only=public_only
    )


async def local_posts(q: Queryable, space_guid: str) -> list[Post]:
    """Every post of a space by this pod's people, whoever may read it, newest (so answers
    before their posts) first."""
    rows = await q.fetchall(
        f"SELECT {POST_COLS} FROM posts p WHERE p.space_guid = ? AND p.local = 1"
        " ORDER BY p.created_at DESC",
        (space_guid,),
    )
    return [Post.of(r) for r in rows]


async def pending_applications(q: Queryable, space_guid: str) -> list[Application]:
    rows = await q.fetchall(
        f"SELECT {_APP_COLS} FROM space_applications WHERE space_guid = ? AND state = 'pending'",
        (space_guid,),
    )
    return [Application.of(r) for r in rows]


async def attach_post(tx: Tx, post_guid: str, space_guid: str) -> None:
    """File a post we already had (from its author's followers' delivery) in its space."""
    await tx.execute(
        "UPDATE posts SET space_guid = ? WHERE guid = ? AND space_guid IS NULL",
        (space_guid, post_guid),
    )
