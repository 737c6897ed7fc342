"""/labels: an identity's private tags."""

from __future__ import annotations

from aiohttp import web

from node.models.sharing import LabelIn, LabelOut, LabelPatch
from node.store.labels import Label

from .context import services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


def _out(label: Label) -> LabelOut:
    return LabelOut(
        id=label.guid,
        name=label.name,
        color=label.color,
        created_at=label.created_at,
        updated_at=label.updated_at,
    )


async def list_labels(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).labels.list(principal(request), page)
    return page_response(request, [_out(label) for label in items], result, page.limit)


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, LabelIn)
    label = await services(request).labels.create(principal(request), body.name, body.color)
    return json_response(_out(label), status=201)


async def get(request: web.Request) -> web.Response:
    label = await services(request).labels.get(principal(request), request.match_info["guid"])
    return json_response(_out(label))


async def patch(request: web.Request) -> web.Response:
    body = await read_json(request, LabelPatch)
    label = await services(request).labels.update(
        principal(request), request.match_info["guid"], body.name, body.color
    )
    return json_response(_out(label))


async def delete(request: web.Request) -> web.Response:
    await services(request).labels.delete(principal(request), request.match_info["guid"])
    return web.Response(status=204)


ROUTES = [
    Route("GET", "/labels", list_labels, "Your private labels", "Labels",
          response=list[LabelOut], scope="private:read", paginated=True),
    Route("POST", "/labels", create, "Make a label", "Labels", body=LabelIn, response=LabelOut,
          status=201, scope="private:modify", errors=(409, 422)),
    Route("GET", "/labels/{guid}", get, "One of your labels", "Labels", response=LabelOut,
          scope="private:read", errors=(404,)),
    Route("PATCH", "/labels/{guid}", patch, "Rename or recolour a label", "Labels",
          body=LabelPatch, response=LabelOut, scope="private:modify", errors=(404, 409, 422)),
    Route("DELETE", "/labels/{guid}", delete, "Delete a label (items keep existing)", "Labels",
          status=204, scope="private:modify", errors=(404,)),
]  # fmt: skip
