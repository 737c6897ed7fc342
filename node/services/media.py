"""Media: announce an upload, receive its bytes, process them, serve them, clean up after.

The flow: `create_upload` stores a pending row and signs a single-use PUT URL; `receive_upload`
streams the bytes to a temporary file (checking size and magic bytes as they arrive, then the
image header), and marks the row `processing`; the worker (`process_next`) strips metadata,
decodes, hashes and stores the result by content address, and marks it `ready` (or `failed`).
Every step's state is in the database, so a restart redoes whatever was `processing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from node.clock import Clock, iso
from node.config import NodeConfig
from node.errors import ApiError, bad_request, not_found, validation
from node.ids import is_guid, new_guid
from node.media import images, signing
from node.media.images import FITS, ImageRejected, Variant
from node.media.names import (
    EXTENSIONS,
    HASH_RE,
    SNIFF_BYTES,
    UPLOAD_PREFIX,
    clean_filename,
    content_disposition,
    normalize_type,
    sniff,
    type_of_extension,
)
from node.media.storage import Keep, LocalMediaStorage, MediaStorage, VariantCache, stream_file
from node.services.access import require_private_modify
from node.services.ports import Publisher
from node.services.principal import PRIVATE_MODIFY, Principal
from node.store import identities as identity_store
from node.store import media as media_store
from node.store import posts as post_store
from node.store.db import Database, Queryable, Tx
from node.store.media import Attachment, Blob, Media
from node.store.paging import Page, PageRequest

log = logging.getLogger("hearth.media")

MAX_ATTACHMENTS = 4
STRAY_FILE_SECONDS = 300  # temp files younger than this may belong to an upload just starting
ORPHAN_BATCH = 500  # stored files looked up at once by gc
SOURCE_FORMAT = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
# The still format a variant is written in unless `fm` or `auto=format` says otherwise.
NATURAL_OUTPUT = {**SOURCE_FORMAT, "image/gif": "png"}
FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}  # values of `fm`
FIT_ALIASES = {"contain": "clip", "max": "clip"}  # clip never enlarges either
# ASCII digits only: str.isdigit() is true of "²" too, which int() then refuses.
EXPIRES_RE = re.compile(r"[0-9]{1,12}\Z")


@dataclass(frozen=True)
class UploadTicket:
    media: Media
    url: str
    disposition: str
    expires_at: str


@dataclass(frozen=True)
class PublicFile:
    """What a public media URL answers with; `chunks(start, end)` streams the bytes."""

    content_type: str
    size: int
    etag: str
    vary_accept: bool
    chunks: Callable[[int, int | None], AsyncIterator[bytes]]


@dataclass(frozen=True)
class GcReport:
    uploads: int  # pending uploads past their time, removed
    blobs: int  # stored files no upload refers to any more, removed
    files: int  # stray temporary files, removed


def accepts_webp(accept: str) -> bool:
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == "image/webp":
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00") for p in params)
    return False


async def ready_media(q: Queryable, owner_guid: str, guids: list[str], field: str) -> list[Media]:
    """The caller's own media, all ready, in the order given; else 422 naming each problem.

    Someone else's media reads exactly like a missing one: nothing leaks about it.
    """
    found = await media_store.owned(q, owner_guid, [g for g in guids if is_guid(g)])
    problems = []
    for guid in guids:
        m = found.get(guid)
        if m is None:
            problems.append(f"{guid[:40]}: no such media of yours")
        elif m.status != "ready":
            problems.append(
                f"{guid}: not ready ({'pending' if m.status == 'uploading' else m.status})"
            )
    if len(set(guids)) != len(guids):
        problems.append("the same media is given twice")
    if problems:
        raise validation({field: "; ".join(problems)})
    return [found[g] for g in guids]


def as_attachment(m: Media) -> Attachment:
    return Attachment(
        kind="Image",
        media_type=m.content_type,
        url=None,
        blob_hash=m.blob_hash,
        media_guid=m.guid,
        width=m.width,
        height=m.height,
        blurhash=m.blurhash,
        description=m.description,
    )


class MediaService:
    def __init__(
        self,
        db: Database,
        config: NodeConfig,
        clock: Clock,
        storage: MediaStorage,
        variants: VariantCache,
        work_dir: Path,
        publisher: Publisher | None,  # None: an offline tool (media gc) that sends nothing
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._cfg = config.media
        self._base = config.server.public_url
        self._clock = clock
        self._storage = storage
        self._variants = variants
        self._tmp = work_dir
        self._secret: bytes | None = None
        self._work = asyncio.Event()
        self._on_work: Callable[[], None] = self._work.set  # see `forward_work`
        # Variants only: uploads are processed one at a time by the worker, in a thread of
        # their own, so that however many variants are asked for, uploads never wait on them.
        self._renders = asyncio.Semaphore(config.media.image_workers)
        self._rendering: dict[str, asyncio.Future[None]] = {}  # variants being rendered now
        # Blobs whose rows a transaction dropped and whose files are not yet removed: a put of
        # the same content waits for the removal, so it cannot remove the new file.
        self._unlinking: dict[str, asyncio.Event] = {}

    @property
    def base_url(self) -> str:
        return self._base

    # --- lifecycle (the app's cleanup context calls these) ---

    async def start(self, recover: bool = True) -> None:
        """Load (or make) the signing secret; with `recover`, forget uploads a restart
        interrupted (only the pod's first process: the others' uploads are not interrupted)."""
        await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True)
        if await media_store.secret(self._db) is None:
            async with self._db.transaction() as tx:
                await media_store.init_secret(tx, secrets.token_hex(32), self._now())
        value = await media_store.secret(self._db)
        assert value is not None
        self._secret = bytes.fromhex(value)
        await self._variants.load(recover)
        if not recover:
            return
        interrupted = await media_store.with_status(self._db, ("uploading",))
        if interrupted:
            async with self._db.transaction() as tx:
                for guid in interrupted:
                    await media_store.delete(tx, guid)
            for guid in interrupted:
                await self._remove_temp(guid)
            log.info("removed %d uploads interrupted by a restart", len(interrupted))

    def wake(self) -> None:
        self._on_work()

    def forward_work(self, notify: Callable[[], None]) -> None:
        """In a process of the pod without the media worker: received uploads are announced
        to the one that has it."""
        self._on_work = notify

    async def wait_for_work(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.wait(), timeout)
        self._work.clear()

    def _now(self) -> str:
        return iso(self._clock.now())

    def _secret_key(self) -> bytes:
        if self._secret is None:
            raise RuntimeError("MediaService.start() has not run")
        return self._secret

    # --- the uploader's API ---

    async def create_upload(
        self, who: Principal, filename: str, content_type: str, size: int | None
    ) -> UploadTicket:
        ctype = normalize_type(content_type)
        if ctype is None:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Only {', '.join(EXTENSIONS)} can be uploaded.",
            )
        name = clean_filename(filename)
        if not name:
            raise validation({"filename": "must name a file"})
        if size is not None:
            if size < 1:
                raise validation({"size": "must be a positive number of bytes"})
            if size > self._cfg.max_bytes:
                raise self._too_large()
        now = self._clock.now()
        expires = now + timedelta(minutes=self._cfg.upload_url_minutes)
        media = Media(
            guid=new_guid(),
            owner_guid=who.identity_guid,
            filename=name,
            content_type=ctype,
            declared_size=size,
            received_size=None,
            description="",
            status="pending",
            failure=None,
            blob_hash=None,
            upload_expires_at=iso(expires),
            created_at=iso(now),
            updated_at=iso(now),
        )
        async with self._db.transaction() as tx:
            await media_store.insert(tx, media)
        disposition = content_disposition(name)
        stamp = int(expires.timestamp())
        signature = signing.sign(self._secret_key(), media.guid, stamp, ctype, disposition)
        url = f"{self._base}{UPLOAD_PREFIX}/{media.guid}?expires={stamp}&signature={signature}"
        return UploadTicket(media, url, disposition, media.upload_expires_at)

    def _too_large(self) -> ApiError:
        return ApiError(
            413, "payload_too_large", f"Uploads are limited to {self._cfg.max_bytes} bytes."
        )

    async def _mine(self, who: Principal, guid: str) -> Media:
        media = await media_store.get(self._db, guid) if is_guid(guid) else None
        if media is None or media.owner_guid != who.identity_guid:
            raise not_found("Media")
        return media

    async def get(self, who: Principal, guid: str) -> Media:
        return await self._mine(who, guid)

    async def mine(self, who: Principal, page: PageRequest) -> tuple[list[Media], Page]:
        return await media_store.list_for_owner(self._db, who.identity_guid, page)

    async def describe(self, who: Principal, guid: str, description: str) -> Media:
        media = await self._mine(who, guid)
        async with self._db.transaction() as tx:
            posts, _ = await media_store.users(tx, media.guid)
            await self._may_change(tx, who, posts)
            await media_store.set_description(tx, media.guid, description.strip(), self._now())
            await self._republish(tx, posts, [])  # the alt text travels with the posts
        return await self._mine(who, guid)

    async def delete(self, who: Principal, guid: str) -> None:
        media = await self._mine(who, guid)
        async with self._dropping() as dropped, self._db.transaction() as tx:
            posts, wearers = await media_store.users(tx, media.guid)
            await self._may_change(tx, who, posts)
            await media_store.delete(tx, media.guid)  # attachments and avatars using it go too
            if media.blob_hash:
                await self._drop_blob_if_unused(tx, media.blob_hash, dropped)
            await self._republish(tx, posts, wearers)
        await self._remove_temp(media.guid)

    @staticmethod
    async def _may_change(tx: Tx, who: Principal, posts: list[str]) -> None:
        """Changing media attached to posts changes those posts: one that is not public needs
        private:modify, as editing it directly does."""
        if who.allows(PRIVATE_MODIFY):
            return
        for guid in posts:
            post = await post_store.get(tx, guid)
            if post is not None:
                require_private_modify(who, post.visibility, "change the attachments of")

    async def _republish(self, tx: Tx, posts: list[str], wearers: list[str]) -> None:
        """Send Updates of the posts and profiles that show changed media, so that other pods
        stop showing what was deleted (in the same transaction as the change)."""
        if not posts and not wearers:
            return
        if self._publisher is None:
            raise RuntimeError("this media service cannot federate the change")
        now = self._now()
        for guid in posts:
            await post_store.touch(tx, guid, now)  # receivers apply only newer edits
            post = await post_store.get(tx, guid)
            author = await identity_store.get(tx, post.author_guid) if post else None
            if post is not None and author is not None:
                await self._publisher.post_updated(tx, post, author)
        for guid in wearers:
            ident = await identity_store.get(tx, guid)
            if ident is not None:
                await self._publisher.identity_updated(tx, ident)

    # --- receiving the bytes ---

    async def receive_upload(
        self,
        guid: str,
        expires: str,
        signature: str,
        content_type: str,
        disposition: str | None,
        length: int | None,
        chunks: AsyncIterator[bytes],
    ) -> Media:
        invalid = ApiError(403, "upload_url_invalid", "This upload URL is not valid.")
        if not is_guid(guid) or not EXPIRES_RE.match(expires):
            raise invalid
        media = await media_store.get(self._db, guid)
        if media is None:
            raise invalid
        expected = content_disposition(media.filename)
        stamp = int(expires)
        if not signing.verify(
            self._secret_key(), guid, stamp, media.content_type, expected, signature
        ):
            raise invalid
        if stamp <= self._clock.now().timestamp():
            raise ApiError(403, "upload_url_expired", "This upload URL has expired.")
        if media.status != "pending":
            raise ApiError(403, "upload_url_used", "This upload URL has been used already.")
        if normalize_type(content_type) != media.content_type:
            raise ApiError(
                415,
                "content_type_mismatch",
                f"Send the bytes with Content-Type: {media.content_type}, as announced.",
            )
        if (disposition or "").strip() != expected:
            raise bad_request(
                "Send the Content-Disposition header given with the upload URL.",
                "content_disposition_mismatch",
            )
        if length is not None and length > self._cfg.max_bytes:
            raise self._too_large()
        async with self._db.transaction() as tx:
            # Claiming the row is what makes the URL single use, even for concurrent PUTs.
            if not await media_store.move(tx, guid, "pending", "uploading", self._now()):
                raise ApiError(403, "upload_url_used", "This upload URL has been used already.")
        part = self._tmp / f"{guid}.part"
        received = self._tmp / f"{guid}.upload"
        try:
            # However slowly the bytes come, the transfer ends: a held connection costs us.
            async with asyncio.timeout(self._cfg.upload_url_minutes * 60):
                size = await self._receive(part, chunks, media.content_type)
            await asyncio.to_thread(images.inspect, part, media.content_type, self._cfg.max_pixels)
            await asyncio.to_thread(os.replace, part, received)
            async with self._db.transaction() as tx:
                moved = await media_store.move(
                    tx, guid, "uploading", "processing", self._now(), received_size=size
                )
            if not moved:  # deleted by its owner while the bytes were arriving
                raise not_found("Media")
        except BaseException as exc:
            # A refused or broken upload leaves nothing behind: no file, no row.
            await self._abandon(guid)
            if isinstance(exc, ImageRejected):
                raise ApiError(exc.status, exc.code, exc.message) from None
            if isinstance(exc, TimeoutError):
                raise ApiError(408, "upload_too_slow", "The upload took too long.") from None
            raise
        self.wake()
        done = await media_store.get(self._db, guid)
        if done is None:
            raise not_found("Media")
        return done

    async def _receive(self, part: Path, chunks: AsyncIterator[bytes], declared: str) -> int:
        """Stream to `part`; stop at the size limit or at the first bytes of the wrong type."""
        total = 0
        head = b""
        sniffed = False
        with part.open("wb") as f:
            async for chunk in chunks:
                total += len(chunk)
                if total > self._cfg.max_bytes:
                    raise self._too_large()
                if not sniffed:
                    head = (head + chunk)[:SNIFF_BYTES]
                    if len(head) >= SNIFF_BYTES:
                        sniffed = True
                        self._check_magic(head, declared)
                # Page-cache writes of network-sized chunks: cheaper inline than a thread hop.
                f.write(chunk)
        if total == 0:
            raise bad_request("The upload has no bytes.", "empty_upload")
        if not sniffed:
            self._check_magic(head, declared)
        return total

    @staticmethod
    def _check_magic(head: bytes, declared: str) -> None:
        found = sniff(head)
        if found != declared:
            raise images.mismatch(declared, found)

    async def _abandon(self, guid: str) -> None:
        with contextlib.suppress(Exception):
            async with self._db.transaction() as tx:
                await media_store.delete_if(tx, guid, ("uploading",))
        await self._remove_temp(guid)

    async def _remove_temp(self, guid: str) -> None:
        def remove() -> None:
            for suffix in (".part", ".upload", ".out"):
                with contextlib.suppress(FileNotFoundError):
                    (self._tmp / f"{guid}{suffix}").unlink()

        await asyncio.to_thread(remove)

    # --- processing (the worker calls this) ---

    async def process_next(self) -> bool:
        """Process the oldest received upload; False when there is none."""
        media = await media_store.next_processing(self._db)
        if media is None:
            return False
        received = self._tmp / f"{media.guid}.upload"
        out = self._tmp / f"{media.guid}.out"
        try:
            result = await asyncio.to_thread(
                images.process, received, out, media.content_type, self._cfg.max_pixels
            )
        except FileNotFoundError:
            await self._fail(media, "The uploaded file was lost; upload it again.")
            return True
        except ImageRejected as exc:
            await self._fail(media, exc.message)
            return True
        except Exception:
            log.exception("processing media %s failed", media.guid)
            await self._fail(media, "The image could not be processed.")
            return True
        now = self._now()
        blob = Blob(
            result.blob_hash,
            media.content_type,
            result.size,
            result.width,
            result.height,
            result.blurhash,
            now,
        )
        # Reference first, file second: a concurrent clean-up that sees the reference keeps the
        # blob; one that ran before it is repaired by the put that follows.
        async with self._db.transaction() as tx:
            linked = await media_store.link_blob(tx, media.guid, blob, now)
        if linked:
            unlinking = self._unlinking.get(blob.hash)
            if unlinking is not None:  # the same content, dropped just before: removed first
                await unlinking.wait()
            try:
                await self._storage.put(blob.hash, out)
            except OSError:
                log.exception("storing media %s failed", media.guid)
                async with self._dropping() as dropped, self._db.transaction() as tx:
                    await media_store.move(
                        tx, media.guid, "processing", "failed", self._now(),
                        failure="The image could not be stored.", blob_hash=None,
                    )  # fmt: skip
                    await self._drop_blob_if_unused(tx, blob.hash, dropped)
            else:
                async with self._dropping() as dropped, self._db.transaction() as tx:
                    if not await media_store.move(
                        tx, media.guid, "processing", "ready", self._now()
                    ):
                        await self._drop_blob_if_unused(tx, blob.hash, dropped)  # deleted meanwhile
        await self._remove_temp(media.guid)
        return True

    async def _fail(self, media: Media, reason: str) -> None:
        async with self._db.transaction() as tx:
            await media_store.move(
                tx, media.guid, "processing", "failed", self._now(), failure=reason
            )
        await self._remove_temp(media.guid)

    async def _drop_blob_if_unused(self, tx: Tx, blob_hash: str, dropped: list[str]) -> bool:
        """Drop the blob's row if nothing uses it, and add it to `dropped` (see `_dropping`).

        Inside the caller's transaction: the write lock keeps a new reference from slipping in
        between the check and the removal of the row. The files go once it commits.
        """
        if await media_store.is_referenced(tx, blob_hash):
            return False
        await media_store.delete_blob(tx, blob_hash)
        self._unlinking.setdefault(blob_hash, asyncio.Event())
        dropped.append(blob_hash)
        return True

    @asynccontextmanager
    async def _dropping(self) -> AsyncIterator[list[str]]:
        """Around a transaction: the blobs it drops are collected in the list, and their files
        removed once it has committed, so the writer never waits on file work (whose threads
        others share) and a rollback leaves every file its rows name. A crash in between leaves
        only files that no row names."""
        dropped: list[str] = []
        try:
            yield dropped
        except BaseException:
            self._unlinked(dropped)  # rolled back: the rows, so the files, stay
            raise
        try:
            for blob_hash in dropped:
                try:
                    await self._storage.delete(blob_hash, self._linked_again(blob_hash))
                    await self._variants.purge(blob_hash)
                except OSError:  # the change is made; only a file no row names stays behind
                    log.exception("removing the files of blob %s failed", blob_hash)
        finally:
            self._unlinked(dropped)

    async def _has_blob(self, blob_hash: str) -> bool:
        return await media_store.blob(self._db, blob_hash) is not None

    def _linked_again(self, blob_hash: str) -> Keep:
        """Whether the blob has a row again, by the time its file is being removed: a process
        other than this one (the pod, or `hearth media gc` beside it) stored the same bytes
        after the row was dropped, and the `_unlinking` hold works only within a process."""

        async def linked() -> bool:
            return await self._has_blob(blob_hash)

        return linked

    def _unlinked(self, hashes: list[str]) -> None:
        for blob_hash in hashes:
            event = self._unlinking.pop(blob_hash, None)
            if event is not None:
                event.set()

    # --- clean-up ---

    async def gc(self) -> GcReport:
        """Remove uploads never completed in time, blobs nothing refers to, stray temp files."""
        cutoff = iso(self._clock.now() - timedelta(hours=self._cfg.pending_hours))
        stale = await media_store.stale_uploads(self._db, cutoff)
        if stale:
            async with self._db.transaction() as tx:
                for guid in stale:
                    await media_store.delete_if(tx, guid, ("pending", "uploading"))
            for guid in stale:
                await self._remove_temp(guid)
        blobs = 0
        async with self._dropping() as dropped, self._db.transaction() as tx:
            for blob_hash in await media_store.unreferenced_blobs(tx):
                blobs += await self._drop_blob_if_unused(tx, blob_hash, dropped)
        blobs += await self._storage.settle_aside(self._has_blob, time.time() - STRAY_FILE_SECONDS)
        blobs += await self._sweep_orphans()
        active = set(await media_store.with_status(self._db, ("uploading", "processing")))
        files = await asyncio.to_thread(self._sweep_temp, active)
        return GcReport(len(stale), blobs, files)

    async def _sweep_orphans(self) -> int:
        """Stored files no blob row names: a file is removed after its row's commit, so a crash
        in between leaves one. A file is stored after its row, so an old one without a row is
        nobody's (a young one may be a row's just being made: left for the next run)."""
        removed = 0
        old = await self._storage.keys_before(time.time() - STRAY_FILE_SECONDS)
        for start in range(0, len(old), ORPHAN_BATCH):
            batch = [k for k in old[start : start + ORPHAN_BATCH] if k not in self._unlinking]
            # Held as being unlinked while looked up and removed: an upload of the same bytes
            # that links its blob meanwhile waits, then stores its file again.
            for key in batch:
                self._unlinking[key] = asyncio.Event()
            try:
                for key in await media_store.unknown_blobs(self._db, batch):
                    await self._storage.delete(key, self._linked_again(key))
                    removed += 1
            finally:
                self._unlinked(batch)
        return removed

    def _sweep_temp(self, active: set[str]) -> int:
        if not self._tmp.is_dir():
            return 0
        removed = 0
        young = time.time() - STRAY_FILE_SECONDS
        for path in self._tmp.iterdir():
            guid = path.name.split(".", 1)[0]
            with contextlib.suppress(FileNotFoundError):
                if guid not in active and path.stat().st_mtime < young:
                    path.unlink()
                    removed += 1
        return removed

    # --- public URLs ---

    async def public_file(self, name: str, query: Mapping[str, str], accept: str) -> PublicFile:
        """The bytes behind /media/<hash>.<ext>, transformed as the query asks."""
        stem, _, ext = name.partition(".")
        blob = await media_store.blob(self._db, stem) if HASH_RE.match(stem) else None
        if blob is None or type_of_extension(ext) != blob.content_type:
            raise not_found("Media")
        spec, vary = self._variant(blob, query, accept)
        if spec is None:
            return PublicFile(
                blob.content_type,
                blob.size,
                f'"{blob.hash}"',
                vary,
                partial(self._storage.stream, blob.hash),
            )
        path, size = await self._render(blob, spec)
        return PublicFile(
            spec.content_type, size, f'"{blob.hash}-{spec.key}"', vary, partial(stream_file, path)
        )

    def _variant(
        self, blob: Blob, query: Mapping[str, str], accept: str
    ) -> tuple[Variant | None, bool]:
        """The normalised transformation asked for (None: the original) and whether the
        answer depends on the Accept header."""
        cap = self._cfg.max_transform_dimension
        width, height = _dimension(query, "w", cap), _dimension(query, "h", cap)
        fit = query.get("fit", "clip")
        if fit not in FITS:
            raise bad_request(f"fit: one of {', '.join(FITS)}", "invalid_transformation")
        fit = FIT_ALIASES.get(fit, fit)
        width, height, fit = images.box((blob.width, blob.height), width, height, fit, cap)
        quality = _int_param(query, "q", 1, 100)
        auto = {a.strip() for a in query.get("auto", "").split(",")}
        vary = "format" in auto
        if "fm" in query:
            output = FORMATS.get(query["fm"].lower())
            if output is None:
                raise bad_request("fm: one of png, jpg, webp", "invalid_transformation")
        elif vary and accepts_webp(accept) and blob.content_type != "image/gif":
            output = "webp"  # animated GIFs are not flattened just to save bytes
        else:
            output = None
        if width is None and height is None and output in (None, SOURCE_FORMAT[blob.content_type]):
            return None, vary
        output = output or NATURAL_OUTPUT[blob.content_type]
        if output == "png":
            quality = 0  # lossless: one cached file whatever q says
        elif quality is None:
            quality = self._cfg.default_quality
        return Variant(width, height, fit, output, quality), vary

    async def _render(self, blob: Blob, spec: Variant) -> tuple[Path, int]:
        """The cached file of the variant, rendered first if need be, and its size."""
        path = self._variants.path(blob.hash, spec.key)
        with contextlib.suppress(FileNotFoundError):
            size = (await asyncio.to_thread(path.stat)).st_size
            await self._variants.used(path, size)
            return path, size
        key = f"{blob.hash}/{spec.key}"
        pending = self._rendering.get(key)
        if pending is not None:  # someone is rendering it right now: wait for theirs
            try:
                await asyncio.shield(pending)
            except (FileNotFoundError, ImageRejected):
                raise not_found("Media") from None
            return await self._render(blob, spec)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        tmp = path.with_name(f".{new_guid()}.tmp")
        try:
            source = self._storage.local_path(blob.hash)
            if source is None:
                raise NotImplementedError("variants of remotely stored media")
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await self._in_a_render_slot(
                images.render, source, tmp, blob.content_type, spec, self._cfg.max_pixels
            )
            await asyncio.to_thread(os.replace, tmp, path)
            size = (await asyncio.to_thread(path.stat)).st_size
            await self._variants.written(path, size)
            future.set_result(None)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            future.exception()  # retrieved: waiters (if any) get it from their await
            if isinstance(exc, (FileNotFoundError, ImageRejected)):
                raise not_found("Media") from None
            raise
        finally:
            del self._rendering[key]
        return path, size

    async def _in_a_render_slot(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn` in a thread once one of `image_workers` slots is free (image work is
        CPU-bound and memory-hungry); 503 when none frees within `variant_wait_seconds`."""
        wait = self._cfg.variant_wait_seconds
        try:
            async with asyncio.timeout(wait):
                await self._renders.acquire()
        except TimeoutError:
            raise ApiError(
                503,
                "busy",
                "Too many pictures are being resized; retry shortly.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            ) from None
        try:
            await asyncio.to_thread(fn, *args)
        finally:
            self._renders.release()

    # --- avatars, for presenting identities ---

    async def avatars(self, identity_guids: list[str]) -> dict[str, Attachment]:
        return await media_store.avatars_of(self._db, identity_guids)


def local_media_service(
    db: Database, config: NodeConfig, clock: Clock, publisher: Publisher | None
) -> MediaService:
    """The default set-up: blobs, variants and temporary files in the media folder."""
    root = config.media_path
    variants = VariantCache(
        root / "variants", config.media.variant_cache_bytes, config.server.workers
    )
    return MediaService(
        db, config, clock, LocalMediaStorage(root / "blobs"), variants, root / "tmp", publisher
    )


def _int_param(query: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: a whole number", "invalid_transformation") from None
    if not low <= value <= high:
        raise bad_request(f"{name}: from {low} to {high}", "invalid_transformation")
    return value


def _dimension(query: Mapping[str, str], name: str, cap: int) -> int | None:
    """A side asked for, rounded up to a step and capped (as imgix does, not refused)."""
    value = _int_param(query, name, 1, 1_000_000)
    return None if value is None else min(images.step(value), cap)
