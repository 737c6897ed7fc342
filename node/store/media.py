"""Media uploads, their content-addressed blobs, post attachments and identity avatars."""

from __future__ import annotations

from dataclasses import dataclass

from node.media.names import public_path
from node.store.db import Queryable, Row, Tx
from node.store.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class Media:
    guid: str
    owner_guid: str
    filename: str
    content_type: str
    declared_size: int | None
    received_size: int | None
    description: str
    status: str
    failure: str | None
    blob_hash: str | None
    upload_expires_at: str
    created_at: str
    updated_at: str
    # From the blob, once processed:
    size: int | None = None
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None

    @classmethod
    def of(cls, row: Row) -> Media:
        return cls(
            guid=row["guid"],
            owner_guid=row["owner_guid"],
            filename=row["filename"],
            content_type=row["content_type"],
            declared_size=row["declared_size"],
            received_size=row["received_size"],
            description=row["description"],
            status=row["status"],
            failure=row["failure"],
            blob_hash=row["blob_hash"],
            upload_expires_at=row["upload_expires_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            size=row["size"],
            width=row["width"],
            height=row["height"],
            blurhash=row["blurhash"],
        )


@dataclass(frozen=True)
class Blob:
    hash: str
    content_type: str
    size: int
    width: int
    height: int
    blurhash: str
    created_at: str


@dataclass(frozen=True)
class Attachment:
    """An attachment of a post (or an avatar): a local blob, or a remote URL with its metadata."""

    kind: str  # ActivityStreams type: Image, Document, ...
    media_type: str
    url: str | None  # remote only
    blob_hash: str | None  # local only
    media_guid: str | None
    width: int | None
    height: int | None
    blurhash: str | None
    description: str

    def url_on(self, base: str) -> str:
        """The absolute URL of the bytes: the remote one, or ours under `base`."""
        if self.url is not None:
            return self.url
        assert self.blob_hash is not None
        return base + public_path(self.blob_hash, self.media_type)


COLS = (
    "m.guid, m.owner_guid, m.filename, m.content_type, m.declared_size, m.received_size,"
    " m.description, m.status, m.failure, m.blob_hash, m.upload_expires_at, m.created_at,"
    " m.updated_at, b.size, b.width, b.height, b.blurhash"
)
FROM = "FROM media m LEFT JOIN media_blobs b ON b.hash = m.blob_hash"


# --- the signing secret ---


async def secret(q: Queryable) -> str | None:
    return await q.fetchval("SELECT secret FROM media_secret WHERE id = 1")


async def init_secret(tx: Tx, value: str, now: str) -> None:
    await tx.execute("INSERT OR IGNORE INTO media_secret VALUES (1, ?, ?)", (value, now))


# --- uploads ---


async def insert(tx: Tx, m: Media) -> None:
    await tx.execute(
        "INSERT INTO media (guid, owner_guid, filename, content_type, declared_size,"
        " received_size, description, status, failure, blob_hash, upload_expires_at, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            m.guid,
            m.owner_guid,
            m.filename,
            m.content_type,
            m.declared_size,
            m.received_size,
            m.description,
            m.status,
            m.failure,
            m.blob_hash,
            m.upload_expires_at,
            m.created_at,
            m.updated_at,
        ),
    )


async def get(q: Queryable, guid: str) -> Media | None:
    row = await q.fetchone(f"SELECT {COLS} {FROM} WHERE m.guid = ?", (guid,))
    return Media.of(row) if row else None


async def list_for_owner(
    q: Queryable, owner_guid: str, page: PageRequest
) -> tuple[list[Media], Page]:
    result = await fetch_page(
        q,
        select=COLS,
        from_where=f"{FROM} WHERE m.owner_guid = ?",
        params=(owner_guid,),
        key=("m.created_at", "m.guid"),
        page=page,
    )
    return [Media.of(r) for r in result.rows], result


async def move(
    tx: Tx, guid: str, from_status: str, to_status: str, now: str, **values: object
) -> bool:
    """Change the status if it is still `from_status` (and set other columns); True if done."""
    sets = "".join(f", {k} = ?" for k in values)
    changed = await tx.execute(
        f"UPDATE media SET status = ?, updated_at = ?{sets} WHERE guid = ? AND status = ?",
        (to_status, now, *values.values(), guid, from_status),
    )
    return changed == 1


async def delete(tx: Tx, guid: str) -> None:
    await tx.execute("DELETE FROM media WHERE guid = ?", (guid,))


async def users(q: Queryable, guid: str) -> tuple[list[str], list[str]]:
    """What shows this media: (local posts attaching it, identities wearing it as avatar)."""
    posts = await q.fetchall(
        "SELECT DISTINCT a.post_guid FROM post_attachments a JOIN posts p ON p.guid = a.post_guid"
        " WHERE a.media_guid = ? AND p.local = 1",
        (guid,),
    )
    wearers = await q.fetchall(
        "SELECT identity_guid FROM identity_avatars WHERE media_guid = ?", (guid,)
    )
    return [r[0] for r in posts], [r[0] for r in wearers]


async def delete_if(tx: Tx, guid: str, statuses: tuple[str, ...]) -> bool:
    """Delete an upload only while it is in one of `statuses`; True if it was."""
    marks = ",".join("?" * len(statuses))
    changed = await tx.execute(
        f"DELETE FROM media WHERE guid = ? AND status IN ({marks})", (guid, *statuses)
    )
    return changed == 1


async def set_description(tx: Tx, guid: str, description: str, now: str) -> None:
    await tx.execute(
        "UPDATE media SET description = ?, updated_at = ? WHERE guid = ?",
        (description, now, guid),
    )


async def next_processing(q: Queryable) -> Media | None:
    row = await q.fetchone(
        f"SELECT {COLS} {FROM} WHERE m.status = 'processing' ORDER BY m.updated_at LIMIT 1"
    )
    return Media.of(row) if row else None


async def with_status(q: Queryable, statuses: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" * len(statuses))
    rows = await q.fetchall(f"SELECT guid FROM media WHERE status IN ({marks})", statuses)
    return [r[0] for r in rows]


async def stale_uploads(q: Queryable, created_before: str) -> list[str]:
    """Uploads whose bytes never (fully) arrived, announced before the cutoff."""
    rows = await q.fetchall(
        "SELECT guid FROM media WHERE status IN ('pending', 'uploading') AND created_at < ?",
        (created_before,),
    )
    return [r[0] for r in rows]


async def owned(q: Queryable, owner_guid: str, guids: list[str]) -> dict[str, Media]:
    """The given media that belong to `owner_guid` (others are simply absent)."""
    if not guids:
        return {}
    marks = ",".join("?" * len(guids))
    rows = await q.fetchall(
        f"SELECT {COLS} {FROM} WHERE m.owner_guid = ? AND m.guid IN ({marks})",
        (owner_guid, *guids),
    )
    return {r["guid"]: Media.of(r) for r in rows}


# --- blobs ---


async def link_blob(tx: Tx, guid: str, blob: Blob, now: str) -> bool:
    """Record the blob (once per content) and point a processing upload at it."""
    await tx.execute(
        "INSERT OR IGNORE INTO media_blobs VALUES (?, ?, ?, ?, ?, ?, ?)",
        (blob.hash, blob.content_type, blob.size, blob.width, blob.height, blob.blurhash, now),
    )
    changed = await tx.execute(
        "UPDATE media SET blob_hash = ?, updated_at = ? WHERE guid = ? AND status = 'processing'",
        (blob.hash, now, guid),
    )
    return changed == 1


async def blob(q: Queryable, blob_hash: str) -> Blob | None:
    row = await q.fetchone(
        "SELECT hash, content_type, size, width, height, blurhash, created_at"
        " FROM media_blobs WHERE hash = ?",
        (blob_hash,),
    )
    return Blob(*row) if row else None


async def is_referenced(q: Queryable, blob_hash: str) -> bool:
    return bool(await q.fetchval("SELECT 1 FROM media WHERE blob_hash = ? LIMIT 1", (blob_hash,)))


async def unknown_blobs(q: Queryable, hashes: list[str]) -> list[str]:
    """Those of `hashes` that no blob row names."""
    if not hashes:
        return []
    marks = ",".join("?" * len(hashes))
    rows = await q.fetchall(f"SELECT hash FROM media_blobs WHERE hash IN ({marks})", hashes)
    known = {r[0] for r in rows}
    return [h for h in hashes if h not in known]


async def unreferenced_blobs(q: Queryable) -> list[str]:
    rows = await q.fetchall(
        "SELECT b.hash FROM media_blobs b"
        " WHERE NOT EXISTS (SELECT 1 FROM media m WHERE m.blob_hash = b.hash)"
    )
    return [r[0] for r in rows]


async def delete_blob(tx: Tx, blob_hash: str) -> None:
    await tx.execute("DELETE FROM media_blobs WHERE hash = ?", (blob_hash,))


# --- attachments ---

ATTACHMENT_COLS = (
    "a.post_guid, a.kind, coalesce(b.content_type, a.media_type), a.url, m.blob_hash,"
    " a.media_guid, coalesce(b.width, a.width), coalesce(b.height, a.height),"
    " coalesce(b.blurhash, a.blurhash), coalesce(m.description, a.description)"
)


async def attach(tx: Tx, post_guid: str, items: list[Attachment], new: bool = False) -> None:
    """Store the attachments of a post in order, replacing any it had (unless it is `new`)."""
    if not new:
        await tx.execute("DELETE FROM post_attachments WHERE post_guid = ?", (post_guid,))
    await tx.executemany(
        "INSERT INTO post_attachments (post_guid, position, media_guid, kind, media_type, url,"
        " width, height, blurhash, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                post_guid,
                i,
                a.media_guid,
                a.kind,
                a.media_type,
                a.url,
                a.width,
                a.height,
                a.blurhash,
                a.description,
            )
            for i, a in enumerate(items)
        ],
    )


async def attachments_of(q: Queryable, post_guids: list[str]) -> dict[str, list[Attachment]]:
    if not post_guids:
        return {}
    marks = ",".join("?" * len(post_guids))
    rows = await q.fetchall(
        f"SELECT {ATTACHMENT_COLS} FROM post_attachments a"
        " LEFT JOIN media m ON m.guid = a.media_guid"
        " LEFT JOIN media_blobs b ON b.hash = m.blob_hash"
        f" WHERE a.post_guid IN ({marks}) ORDER BY a.post_guid, a.position",
        post_guids,
    )
    out: dict[str, list[Attachment]] = {}
    for r in rows:
        # A local attachment whose blob is gone (cannot normally happen) is left out.
        if r[5] is not None and r[4] is None:
            continue
        out.setdefault(r[0], []).append(Attachment(*r[1:]))
    return out


# --- avatars ---


async def set_avatar(tx: Tx, identity_guid: str, media_guid: str | None) -> None:
    if media_guid is None:
        await tx.execute("DELETE FROM identity_avatars WHERE identity_guid = ?", (identity_guid,))
        return
    await tx.execute(
        "INSERT INTO identity_avatars (identity_guid, media_guid) VALUES (?, ?)"
        " ON CONFLICT (identity_guid) DO UPDATE SET media_guid = excluded.media_guid",
        (identity_guid, media_guid),
    )


async def set_remote_avatar(tx: Tx, identity_guid: str, icon: tuple[str, str] | None) -> None:
    """What a remote actor's document names as its avatar (URL, media type); None: none."""
    if icon is None:
        await tx.execute("DELETE FROM remote_avatars WHERE identity_guid = ?", (identity_guid,))
        return
    # Written only when it differs, so a refetch that changes nothing re-renders nothing.
    await tx.execute(
        "INSERT INTO remote_avatars (identity_guid, url, media_type) VALUES (?, ?, ?)"
        " ON CONFLICT (identity_guid) DO UPDATE SET url = excluded.url,"
        " media_type = excluded.media_type"
        " WHERE url != excluded.url OR media_type != excluded.media_type",
        (identity_guid, *icon),
    )


async def avatars_of(q: Queryable, identity_guids: list[str]) -> dict[str, Attachment]:
    """Avatars by identity: our own media, or the URL a remote actor names."""
    if not identity_guids:
        return {}
    marks = ",".join("?" * len(identity_guids))
    rows = await q.fetchall(
        "SELECT v.identity_guid, b.content_type, NULL, m.blob_hash, m.guid, b.width, b.height,"
        " b.blurhash, m.description FROM identity_avatars v"
        " JOIN media m ON m.guid = v.media_guid JOIN media_blobs b ON b.hash = m.blob_hash"
        f" WHERE v.identity_guid IN ({marks})"
        " UNION ALL SELECT identity_guid, media_type, url, NULL, NULL, NULL, NULL, NULL, ''"
        f" FROM remote_avatars WHERE identity_guid IN ({marks})",
        [*identity_guids, *identity_guids],
    )
    return {r[0]: Attachment("Image", *r[1:]) for r in rows}
