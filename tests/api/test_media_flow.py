"""/api/v1/media and the upload URL: the presigned flow end to end, and every refusal."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from PIL import Image

from node.appkeys import DB, MEDIA_WORKER
from node.media.names import ni_uri
from tests.support import GUID_RE, TIME_RE, Pod, User, wait_for

MB = 1024 * 1024


# --- helpers (the federation tests use them too) --------------------------------------------


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (200, 30, 30),
    exif: Image.Exif | None = None,
) -> bytes:
    im = Image.new("RGB", size, color)
    for x in range(size[0]):  # a gradient, so that blurhash and resizing have something to do
        im.putpixel((x, size[1] // 2), (x * 4 % 256, 100, 200))
    out = io.BytesIO()
    im.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}  # GPS IFD
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A PNG announcing huge dimensions with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def announce(
    pod: Pod,
    user: User,
    filename: str = "photo.png",
    content_type: str = "image/png",
    expect: int | None = 201,
    **extra: Any,
) -> dict[str, Any]:
    _, data = await pod.call(
        "POST",
        "/api/v1/media",
        user,
        json={"filename": filename, "contentType": content_type, **extra},
        expect=expect,
    )
    return data


async def put(
    pod: Pod,
    ticket: dict[str, Any],
    data: bytes | AsyncIterator[bytes],
    content_type: str | None = None,
    disposition: str | None = None,
) -> tuple[ClientResponse, Any]:
    """PUT to the upload URL (absolute, no bearer token) with the announced headers."""
    headers = {
        "Content-Type": content_type or ticket["media"]["contentType"],
        "Content-Disposition": disposition or ticket["contentDispositionHeader"],
    }
    async with pod.http.put(ticket["uploadUrl"], data=data, headers=headers) as resp:
        body = await resp.json(content_type=None) if resp.content_length != 0 else None
        return resp, body


async def wait_ready(pod: Pod, user: User, media_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        _, item = await pod.call("GET", f"/api/v1/media/{media_id}", user, expect=200)
        return item if item["status"] in ("ready", "failed") else None

    return await wait_for(done)


async def upload(
    pod: Pod,
    user: User,
    data: bytes | None = None,
    content_type: str = "image/png",
    filename: str = "photo.png",
) -> dict[str, Any]:
    """Announce, PUT and wait until processed; returns the ready media."""
    ticket = await announce(pod, user, filename, content_type)
    resp, body = await put(pod, ticket, data if data is not None else image_bytes())
    assert resp.status == 200, body
    item = await wait_ready(pod, user, ticket["media"]["id"])
    assert item["status"] == "ready", item
    return item


def leftovers(pod: Pod) -> list[Path]:
    """Files in the pod's media folder (temporary ones included)."""
    root = pod.config.media_path
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def media_rows(pod: Pod) -> int:
    return await pod.app[DB].fetchval("SELECT count(*) FROM media")


async def without_pods_gc(pod: Pod) -> None:
    """Stop the pod's media worker, whose gc runs at start (after the uploads waiting then)
    and hourly, so that a gc the test runs is the only one: two at once would each take what
    the other was checking for. Uploads are no longer processed after this."""
    await pod.app[MEDIA_WORKER].stop()


# --- the flow -------------------------------------------------------------------------------


async def test_upload_flow_end_to_end(pod: Pod) -> None:
    alice = await pod.register("alice")
    data = image_bytes(size=(64, 48))
    ticket = await announce(pod, alice, "holiday photo.png", "image/png", size=len(data))
    assert set(ticket) == {"uploadUrl", "contentDispositionHeader", "expiresAt", "media"}
    assert ticket["uploadUrl"].startswith(f"{pod.url}/media/uploads/")
    assert ticket["contentDispositionHeader"] == 'attachment; filename="holiday photo.png"'
    assert TIME_RE.match(ticket["expiresAt"])
    media = ticket["media"]
    assert GUID_RE.match(media["id"])
    assert (media["filename"], media["contentType"], media["status"]) == (
        "holiday photo.png",
        "image/png",
        "pending",
    )
    assert media["publicDownloadUrl"] is None and media["blurHash"] is None

    resp, body = await put(pod, ticket, data)  # no Authorization header: the URL is the key
    assert resp.status == 200, body
    assert body["id"] == media["id"] and body["status"] in ("processing", "ready")

    item = await wait_ready(pod, alice, media["id"])
    assert item["status"] == "ready"
    assert (item["width"], item["height"]) == (64, 48)
    assert isinstance(item["blurHash"], str) and len(item["blurHash"]) >= 6
    assert item["canonicalUri"].startswith("ni:///sha-256;")
    assert item["publicDownloadUrl"].startswith(f"{pod.url}/media/")
    assert item["publicDownloadUrl"].endswith(".png")

    async with pod.http.get(item["publicDownloadUrl"]) as got:
        assert got.status == 200
        served = await got.read()
        assert got.content_type == "image/png"
        assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        etag = got.headers["ETag"]
    digest = hashlib.sha256(served).hexdigest()
    assert item["canonicalUri"] == ni_uri(digest)
    assert item["size"] == len(served)
    assert etag == f'"{digest}"'
    assert Image.open(io.BytesIO(served)).size == (64, 48)

    _, listed = await pod.call("GET", "/api/v1/media", alice, expect=200)
    assert [m["id"] for m in listed] == [media["id"]]


async def test_jpeg_gif_and_webp_are_accepted(pod: Pod) -> None:
    alice = await pod.register("alice")
    for fmt, ctype, name in (
        ("JPEG", "image/jpeg", "a.jpg"),
        ("GIF", "image/gif", "b.gif"),
        ("WEBP", "image/webp", "c.webp"),
    ):
        item = await upload(pod, alice, image_bytes(fmt, (30, 20)), ctype, name)
        assert (item["contentType"], item["width"], item["height"]) == (ctype, 30, 20)


async def test_unsupported_type_and_declared_size_are_refused_up_front(pod: Pod) -> None:
    alice = await pod.register("alice")
    for ctype in ("image/svg+xml", "text/html", "application/pdf", "image/tiff"):
        err = await announce(pod, alice, "x", ctype, expect=415)
        assert err["error"] == "unsupported_media_type"
    err = await announce(pod, alice, "big.png", "image/png", expect=413, size=10 * MB + 1)
    assert err["code"] == 413
    await announce(pod, alice, "ok.png", "image/png", expect=201, size=10 * MB)
    err = await announce(pod, alice, "../", "image/png", expect=422)
    assert "filename" in err["fields"]
    await pod.call("POST", "/api/v1/media", json={"filename": "a", "contentType": "image/png"},
                   expect=401)  # fmt: skip


async def test_wrong_content_type_header_is_refused_and_the_url_still_works(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, image_bytes(), content_type="image/jpeg")
    assert resp.status == 415 and err["error"] == "content_type_mismatch"
    resp, err = await put(pod, ticket, image_bytes(), disposition="attachment")
    assert resp.status == 400 and err["error"] == "content_disposition_mismatch"
    resp, _ = await put(pod, ticket, image_bytes())
    assert resp.status == 200


async def test_spoofed_magic_bytes_are_refused_and_leave_nothing(pod: Pod) -> None:
    alice = await pod.register("alice")
    # A JPEG announced as PNG.
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, image_bytes("JPEG"))
    assert resp.status == 415 and err["error"] == "content_mismatch", err
    # HTML with a PNG name and type.
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, b"<html><script>alert(1)</script></html>" * 10)
    assert resp.status == 415 and err["error"] == "content_mismatch"
    # PNG magic bytes in front of something that is not a PNG.
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, b"\x89PNG\r\n\x1a\n" + b"<?php system($_GET['c']); ?>")
    assert resp.status == 415 and err["error"] == "not_an_image"
    assert await media_rows(pod) == 0
    assert leftovers(pod) == []
    await pod.call("GET", f"/api/v1/media/{ticket['media']['id']}", alice, expect=404)


async def test_more_than_ten_megabytes_is_refused(pod: Pod) -> None:
    alice = await pod.register("alice")
    payload = image_bytes() + b"\x00" * (10 * MB + 1 - len(image_bytes()))
    assert len(payload) == 10 * MB + 1
    # With a Content-Length: refused before reading, and the URL is not used up.
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, payload)
    assert resp.status == 413 and err["code"] == 413

    # Streamed without a length: cut off as soon as it passes the limit.
    async def chunks() -> AsyncIterator[bytes]:
        view = memoryview(payload)
        for start in range(0, len(payload), 256 * 1024):
            yield bytes(view[start : start + 256 * 1024])

    resp, err = await put(pod, ticket, chunks())
    assert resp.status == 413 and err["code"] == 413
    assert await media_rows(pod) == 0
    assert leftovers(pod) == []


async def test_pixel_bombs_are_refused(pod: Pod) -> None:
    alice = await pod.register("alice")
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 200
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, bomb)
    assert resp.status == 422 and err["error"] == "image_too_large", err
    assert leftovers(pod) == []


def many_frame_gif(side: int, frames: int) -> bytes:
    """A GIF of a `side` x `side` canvas and `frames` frames of one pixel each."""
    head = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\x00" * 3 + b"\xff" * 3
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * frames + b"\x3b"


async def test_animations_are_bounded_by_frames_times_canvas(make_pod: Any) -> None:
    pod = await make_pod(media={"max_pixels": 1_000_000})  # animations: 10,000,000 in all
    alice = await pod.register("alice")
    await upload(pod, alice, many_frame_gif(1000, 10), "image/gif", "ten.gif")
    ticket = await announce(pod, alice, "eleven.gif", "image/gif")
    resp, body = await put(pod, ticket, many_frame_gif(1000, 11))
    assert resp.status == 200, body
    item = await wait_ready(pod, alice, ticket["media"]["id"])
    assert item["status"] == "failed" and "10000000 pixels" in item["failureReason"]


async def test_a_gif_of_100000_frames_on_a_large_canvas_fails_processing(pod: Pod) -> None:
    alice = await pod.register("alice")
    data = many_frame_gif(6000, 100_000)
    assert len(data) < 3 * MB
    ticket = await announce(pod, alice, "frames.gif", "image/gif")
    resp, body = await put(pod, ticket, data)
    assert resp.status == 200, body
    item = await wait_ready(pod, alice, ticket["media"]["id"])
    assert item["status"] == "failed" and "frames" in item["failureReason"]


async def test_pixel_limit_is_configurable(make_pod: Any) -> None:
    pod = await make_pod(media={"max_pixels": 1000})
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    resp, err = await put(pod, ticket, image_bytes(size=(40, 30)))  # 1200 pixels
    assert resp.status == 422 and err["error"] == "image_too_large"
    await upload(pod, alice, image_bytes(size=(30, 30)))


async def test_expired_url_is_refused(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    pod.clock.advance(timedelta(minutes=16))
    resp, err = await put(pod, ticket, image_bytes())
    assert resp.status == 403 and err["error"] == "upload_url_expired"


async def test_reused_and_tampered_urls_are_refused(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    resp, _ = await put(pod, ticket, image_bytes())
    assert resp.status == 200
    resp, err = await put(pod, ticket, image_bytes(color=(1, 2, 3)))
    assert resp.status == 403 and err["error"] == "upload_url_used"

    other = await announce(pod, alice)
    url = other["uploadUrl"]
    tampered = [
        url[:-4] + ("0000" if not url.endswith("0000") else "1111"),  # signature
        url.replace("expires=", "expires=9"),  # a later expiry
        url.replace(other["media"]["id"], ticket["media"]["id"]),  # another upload's id
        url.split("?")[0],  # no signature at all
    ]
    for bad in tampered:
        resp, err = await put(pod, {**other, "uploadUrl": bad}, image_bytes())
        assert resp.status == 403 and err["error"] == "upload_url_invalid", bad
    resp, _ = await put(pod, other, image_bytes())
    assert resp.status == 200


async def test_expires_must_be_ascii_digits(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    base = ticket["uploadUrl"].split("?")[0]
    signature = ticket["uploadUrl"].split("signature=")[1]
    for expires in ("%C2%B2", "%D9%A3%D9%A3", "%EF%BC%91", "-1", "+1", "1e9", ""):
        bad = f"{base}?expires={expires}&signature={signature}"
        resp, err = await put(pod, {**ticket, "uploadUrl": bad}, image_bytes())
        assert resp.status == 403 and err["error"] == "upload_url_invalid", expires
    resp, _ = await put(pod, ticket, image_bytes())
    assert resp.status == 200


async def test_only_the_uploader_reads_changes_or_deletes_media(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    item = await upload(pod, alice)
    path = f"/api/v1/media/{item['id']}"
    for method, kw in (("GET", {}), ("PATCH", {"json": {"description": "mine"}}), ("DELETE", {})):
        _, err = await pod.call(method, path, bob, expect=404, **kw)
        assert err["error"] == "not_found"
    await pod.call("GET", path, expect=401)
    _, listed = await pod.call("GET", "/api/v1/media", bob, expect=200)
    assert listed == []
    _, changed = await pod.call("PATCH", path, alice, json={"description": "A red square"},
                                expect=200)  # fmt: skip
    assert changed["description"] == "A red square"


async def test_gps_exif_is_stripped_and_orientation_kept(pod: Pod) -> None:
    alice = await pod.register("alice")
    original = image_bytes("JPEG", (40, 30), exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # GPS is there
    item = await upload(pod, alice, original, "image/jpeg", "phone.jpg")
    assert (item["width"], item["height"]) == (30, 40)  # as displayed (rotated)
    async with pod.http.get(item["publicDownloadUrl"]) as got:
        served = await got.read()
    exif = Image.open(io.BytesIO(served)).getexif()
    assert exif.get_ifd(0x8825) == {}
    assert dict(exif) == {0x0112: 6}
    assert b"PhoneMaker" not in served
    # The pixels are untouched: the same decode as the original.
    assert Image.open(io.BytesIO(served)).tobytes() == Image.open(io.BytesIO(original)).tobytes()


async def test_png_text_chunks_are_stripped(pod: Pod) -> None:
    from PIL.PngImagePlugin import PngInfo

    alice = await pod.register("alice")
    info = PngInfo()
    info.add_text("Comment", "taken at 52.52N 13.40E")
    im = Image.new("RGBA", (20, 10), (0, 0, 255, 128))
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info)
    item = await upload(pod, alice, out.getvalue())
    async with pod.http.get(item["publicDownloadUrl"]) as got:
        served = await got.read()
    assert b"52.52N" not in served and b"tEXt" not in served
    assert Image.open(io.BytesIO(served)).getpixel((0, 0)) == (0, 0, 255, 128)


async def test_corrupt_image_fails_processing_with_a_reason(pod: Pod) -> None:
    alice = await pod.register("alice")
    whole = image_bytes(size=(64, 64))
    ticket = await announce(pod, alice)
    resp, body = await put(pod, ticket, whole[: len(whole) - 30])  # header fine, data cut short
    assert resp.status == 200, body
    item = await wait_ready(pod, alice, ticket["media"]["id"])
    assert item["status"] == "failed"
    assert "truncated" in item["failureReason"]
    assert item["publicDownloadUrl"] is None


async def test_a_jpeg_of_thousands_of_scans_fails_processing(pod: Pod) -> None:
    from tests.api.test_media_strip import progressive_jpeg

    alice = await pod.register("alice")
    ticket = await announce(pod, alice, "scans.jpg", "image/jpeg")
    resp, body = await put(pod, ticket, progressive_jpeg(5000))
    assert resp.status == 200, body
    item = await wait_ready(pod, alice, ticket["media"]["id"])
    assert item["status"] == "failed" and "scans" in item["failureReason"]
    assert item["publicDownloadUrl"] is None


async def test_identical_uploads_share_storage(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    data = image_bytes(color=(5, 6, 7))
    first = await upload(pod, alice, data)
    second = await upload(pod, bob, data)
    assert first["id"] != second["id"]
    assert first["canonicalUri"] == second["canonicalUri"]
    assert first["publicDownloadUrl"] == second["publicDownloadUrl"]
    blobs = [p for p in leftovers(pod) if "blobs" in p.parts]
    assert len(blobs) == 1
    await pod.call("DELETE", f"/api/v1/media/{first['id']}", alice, expect=204)
    async with pod.http.get(second["publicDownloadUrl"]) as got:
        assert got.status == 200  # still used by bob's
    await pod.call("DELETE", f"/api/v1/media/{second['id']}", bob, expect=204)
    async with pod.http.get(second["publicDownloadUrl"]) as got:
        assert got.status == 404
    assert leftovers(pod) == []


async def test_gc_removes_uploads_never_completed(pod: Pod) -> None:
    from node.appkeys import SERVICES

    alice = await pod.register("alice")
    stale = await announce(pod, alice)
    pod.clock.advance(timedelta(hours=23))
    fresh = await announce(pod, alice)
    done = await upload(pod, alice)
    await without_pods_gc(pod)
    pod.clock.advance(timedelta(hours=2))
    report = await pod.app[SERVICES].media.gc()
    assert report.uploads == 1
    await pod.call("GET", f"/api/v1/media/{stale['media']['id']}", alice, expect=404)
    await pod.call("GET", f"/api/v1/media/{fresh['media']['id']}", alice, expect=200)
    await pod.call("GET", f"/api/v1/media/{done['id']}", alice, expect=200)


async def test_a_dropped_connection_leaves_nothing(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    path = ticket["uploadUrl"].removeprefix(pod.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", pod.server.port)
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {pod.host}\r\nContent-Type: image/png\r\n"
        f"Content-Disposition: {ticket['contentDispositionHeader']}\r\n"
        "Content-Length: 1000000\r\n\r\n"
    )
    writer.write(head.encode() + image_bytes()[:500])
    await writer.drain()

    async def receiving() -> bool:
        return any(p.suffix == ".part" for p in leftovers(pod))

    await wait_for(receiving)
    writer.close()  # gone mid-body

    async def cleaned() -> bool:
        return await media_rows(pod) == 0 and leftovers(pod) == []

    await wait_for(cleaned)
    del reader


async def test_a_trickling_upload_is_cut_off(make_pod: Any) -> None:
    pod = await make_pod(media={"upload_url_minutes": 0.01})  # 0.6 s
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    pod.clock.advance(timedelta(minutes=-1))  # the URL stays valid however slow this machine is
    path = ticket["uploadUrl"].removeprefix(pod.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", pod.server.port)
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {pod.host}\r\nContent-Type: image/png\r\n"
        f"Content-Disposition: {ticket['contentDispositionHeader']}\r\n"
        "Content-Length: 1000000\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + image_bytes()[:100])
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    assert status_line.split()[1] == b"408"
    writer.close()
    assert await media_rows(pod) == 0 and leftovers(pod) == []


async def test_filenames_are_cleaned_and_unicode_survives(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice, "C:\\Users\\me\\..\\фото 1.png")
    assert ticket["media"]["filename"] == "фото 1.png"
    header = ticket["contentDispositionHeader"]
    assert (
        header
        == "attachment; filename=\"____ 1.png\"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%201.png"
    )
    resp, _ = await put(pod, ticket, image_bytes())
    assert resp.status == 200
    ticket = await announce(pod, alice, "../../etc/passwd\x00.png")
    assert ticket["media"]["filename"] == "passwd.png"
