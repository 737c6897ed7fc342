"""Media routes outside /api/v1: the signed upload URL (PUT) and the public URLs (GET, HEAD).

Thin handlers: the media service decides; this module speaks HTTP (conditional requests,
ranges, caching headers).
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import hdrs, web

from node.api.http import body_chunks, json_response
from node.appkeys import SERVICES
from node.errors import not_found
from node.media.names import PUBLIC_PREFIX, UPLOAD_PREFIX
from node.models.media import MediaOut

Range = tuple[int, int] | Literal["unsatisfiable"] | None

# Content addresses never change what they name, so caches may keep them for good.
IMMUTABLE = "public, max-age=31536000, immutable"

log = logging.getLogger("hearth.media")


async def upload(request: web.Request) -> web.Response:
    """PUT the bytes of an announced upload; the signed URL is the only credential."""
    media = request.app[SERVICES].media
    item = await media.receive_upload(
        request.match_info["guid"],
        request.query.get("expires", ""),
        request.query.get("signature", ""),
        request.headers.get(hdrs.CONTENT_TYPE, ""),
        request.headers.get(hdrs.CONTENT_DISPOSITION),
        request.content_length,
        # Streamed from the socket: client_max_size only bounds request.read(), not this.
        body_chunks(request),
    )
    return json_response(MediaOut.of(item, media.base_url))


async def serve(request: web.Request) -> web.StreamResponse:
    media = request.app[SERVICES].media
    found = await media.public_file(
        request.match_info["name"], request.query, request.headers.get(hdrs.ACCEPT, "")
    )
    headers = {
        hdrs.ETAG: found.etag,
        hdrs.CACHE_CONTROL: IMMUTABLE,
        hdrs.ACCEPT_RANGES: "bytes",
        "X-Content-Type-Options": "nosniff",
        # Served from the API's origin: never let a file act as a page.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if found.vary_accept:
        headers[hdrs.VARY] = "Accept"
    if etag_matches(request.headers.get(hdrs.IF_NONE_MATCH), found.etag):
        return web.Response(status=304, headers=headers)
    wanted: Range = None
    if_range = request.headers.get(hdrs.IF_RANGE)
    if hdrs.RANGE in request.headers and (if_range is None or if_range.strip() == found.etag):
        wanted = parse_range(request.headers[hdrs.RANGE], found.size)
    if wanted == "unsatisfiable":
        headers[hdrs.CONTENT_RANGE] = f"bytes */{found.size}"
        return web.Response(status=416, headers=headers)
    start, end = wanted or (0, found.size)
    if wanted is not None:
        headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{found.size}"
    head = request.method == hdrs.METH_HEAD
    # Opened (HEAD: no byte read) before the status goes out: a file gone from the disk is a
    # 404, not a 200 cut short.
    chunks = found.chunks(0, 0) if head else found.chunks(start, end)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:
        log.error("the stored file of %s is missing", request.match_info["name"])
        raise not_found("Media") from None
    response = web.StreamResponse(status=206 if wanted else 200, headers=headers)
    response.content_type = found.content_type
    response.content_length = end - start
    await response.prepare(request)
    if not head:
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: weak comparison against any listed tag, or `*`."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def parse_range(header: str, size: int) -> Range:
    """One `bytes=` range as (start, end exclusive). Several ranges or a malformed header give
    None (the whole file, which RFC 9110 allows); a range past the end is unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = (p.strip() for p in spec.partition("-"))
    if not sep or not (first or last):
        return None
    try:
        if not first:  # the last N bytes
            n = int(last)
            return (max(0, size - n), size) if n > 0 else "unsatisfiable"
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start < 0 or end <= start:
        return None if start < size else "unsatisfiable"
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size)


def setup(app: web.Application) -> None:
    app.router.add_put(UPLOAD_PREFIX + "/{guid}", upload)
    app.router.add_get(PUBLIC_PREFIX + "/{name}", serve)  # HEAD too
