"""/media: announce an upload (get a signed PUT URL), read, describe, list and delete your media.

The bytes themselves go to the upload URL and come back from the public URLs, both outside
/api/v1 (node/media/routes.py).
"""

from __future__ import annotations

from aiohttp import web

from node.models.media import MediaIn, MediaOut, MediaPatch, UploadOut

from .context import services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, MediaIn)
    media = services(request).media
    ticket = await media.create_upload(
        principal(request), body.filename, body.content_type, body.size
    )
    out = UploadOut(
        upload_url=ticket.url,
        content_disposition_header=ticket.disposition,
        expires_at=ticket.expires_at,
        media=MediaOut.of(ticket.media, media.base_url),
    )
    return json_response(out, status=201)


async def get(request: web.Request) -> web.Response:
    media = services(request).media
    item = await media.get(principal(request), request.match_info["guid"])
    return json_response(MediaOut.of(item, media.base_url))


async def patch(request: web.Request) -> web.Response:
    body = await read_json(request, MediaPatch)
    media = services(request).media
    item = await media.describe(principal(request), request.match_info["guid"], body.description)
    return json_response(MediaOut.of(item, media.base_url))


async def delete(request: web.Request) -> web.Response:
    await services(request).media.delete(principal(request), request.match_info["guid"])
    return web.Response(status=204)


async def list_mine(request: web.Request) -> web.Response:
    media = services(request).media
    page = page_request(request)
    items, result = await media.mine(principal(request), page)
    out = [MediaOut.of(m, media.base_url) for m in items]
    return page_response(request, out, result, page.limit)


ROUTES = [
    Route(
        "POST",
        "/media",
        create,
        "Announce an upload: returns a signed, single-use URL to PUT the bytes to",
        "Media",
        body=MediaIn,
        response=UploadOut,
        status=201,
        scope="media",
        errors=(413, 415, 422),
    ),
    Route(
        "GET",
        "/media",
        list_mine,
        "Your uploads, newest first",
        "Media",
        response=list[MediaOut],
        scope="media",
        paginated=True,
    ),
    Route(
        "GET",
        "/media/{guid}",
        get,
        "One of your uploads: status, dimensions, blurhash, URLs",
        "Media",
        response=MediaOut,
        scope="media",
        errors=(404,),
    ),
    Route(
        "PATCH",
        "/media/{guid}",
        patch,
        "Set the description (alt text) of one of your uploads (attached to posts that are not"
        " public, it needs private:modify too)",
        "Media",
        body=MediaPatch,
        response=MediaOut,
        scope="media",
        errors=(404, 422),
    ),
    Route(
        "DELETE",
        "/media/{guid}",
        delete,
        "Delete one of your uploads (it leaves the posts it was attached to; from posts that"
        " are not public, only with private:modify)",
        "Media",
        status=204,
        scope="media",
        errors=(404,),
    ),
]
