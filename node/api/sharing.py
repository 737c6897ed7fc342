"""/sharing: grants between identities, and the items they cover. First-party sessions only."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import CONFIG
from node.errors import bad_request
from node.models.sharing import (
    SharedItemOut,
    SharedItemPatch,
    ShareIn,
    ShareLabel,
    ShareOut,
    SharePut,
)
from node.services.sharing import SharedItem, ShareRequest, ShareView

from .context import identity_out, services
from .http import json_response, page_response, read_json
from .pagination import offset_link_header, offset_page_request, page_request
from .routing import Route, principal


def share_out(request: web.Request, view: ShareView) -> ShareOut:
    s = view.share
    now = services(request).sharing.now()
    return ShareOut(
        id=s.guid,
        owner=identity_out(request, view.owner),
        shared_with=identity_out(request, view.grantee),
        granted_by=identity_out(request, view.granted_by),
        parent_id=s.parent_guid,
        scope=s.scope,
        tags=[ShareLabel(id=g, name=view.label_names.get(g, "")) for g in s.label_ids],
        item_ids=s.item_ids,
        can_read=s.can_read,
        can_write=s.can_write,
        can_delete=s.can_delete,
        can_share=s.can_share,
        expires_at=s.expires_at,
        expired=not s.active(now),
        remote=s.remote,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, ShareIn)
    req = ShareRequest(
        scope=body.scope,
        tag_ids=body.tag_ids,
        item_ids=body.item_ids,
        can_read=body.can_read,
        can_write=body.can_write,
        can_delete=body.can_delete,
        can_share=body.can_share,
        expires_at=body.expires_at,
    )
    view = await services(request).sharing.create(
        principal(request), body.shared_with, req, body.parent_id
    )
    return json_response(share_out(request, view), status=201)


async def _listing(request: web.Request, side: str) -> web.Response:
    page = offset_page_request(request)
    views, result, total = await services(request).sharing.listing(principal(request), side, page)
    items = [share_out(request, v) for v in views]
    if page.offset is None:
        return page_response(request, items, result, page.limit)
    return json_response(
        items,
        headers={
            "Link": offset_link_header(request, result, page, total),
            "X-Total-Count": str(total),
        },
    )


async def outgoing(request: web.Request) -> web.Response:
    return await _listing(request, "outgoing")


async def incoming(request: web.Request) -> web.Response:
    return await _listing(request, "incoming")


async def get(request: web.Request) -> web.Response:
    view = await services(request).sharing.get(principal(request), request.match_info["guid"])
    return json_response(share_out(request, view))


async def put(request: web.Request) -> web.Response:
    body = await read_json(request, SharePut)
    changes = body.model_dump(exclude_unset=True)
    view = await services(request).sharing.update(
        principal(request), request.match_info["guid"], changes
    )
    return json_response(share_out(request, view))


async def revoke(request: web.Request) -> web.Response:
    await services(request).sharing.revoke(principal(request), request.match_info["guid"])
    return web.Response(status=204)


def _item_out(item: SharedItem) -> SharedItemOut:
    return SharedItemOut(
        id=item.guid or item.uri,
        uri=item.uri,
        body=item.text,
        html=item.html,
        author=item.author,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _host(request: web.Request) -> str:
    return request.app[CONFIG].host


async def items(request: web.Request) -> web.Response:
    page = page_request(request)
    found, result = await services(request).shared_items.list(
        principal(request), request.match_info["guid"], page, _host(request)
    )
    out = [_item_out(i) for i in found]
    if result is None:
        return json_response(out)
    return page_response(request, out, result, page.limit)


def _item_param(request: web.Request) -> str:
    item = request.query.get("item", "")
    if not item or len(item) > 2048:
        raise bad_request("Name the item: ?item=<id or URI>.", "missing_item")
    return item


async def item(request: web.Request) -> web.Response:
    found = await services(request).shared_items.get(
        principal(request), request.match_info["guid"], _item_param(request), _host(request)
    )
    return json_response(_item_out(found))


async def write_item(request: web.Request) -> web.Response:
    body = await read_json(request, SharedItemPatch)
    found = await services(request).shared_items.write(
        principal(request), request.match_info["guid"], _item_param(request), body.body,
        _host(request),
    )  # fmt: skip
    return json_response(_item_out(found))


async def delete_item(request: web.Request) -> web.Response:
    await services(request).shared_items.delete(
        principal(request), request.match_info["guid"], _item_param(request)
    )
    return web.Response(status=204)


_ITEM = {"item": "the item's id (local) or URI (remote)"}
_NEEDS_ITEM = ("item",)

ROUTES = [
    Route("POST", "/sharing", create, "Grant another identity access to your items (or re-share)",
          "Sharing", body=ShareIn, response=ShareOut, status=201, first_party=True,
          errors=(403, 404, 422)),
    Route("GET", "/sharing/outgoing", outgoing, "Shares you granted", "Sharing",
          response=list[ShareOut], first_party=True, paginated=True,
          query={"limit": "page size (like per_page)", "offset": "items to skip"}),
    Route("GET", "/sharing/incoming", incoming, "Shares granted to you", "Sharing",
          response=list[ShareOut], first_party=True, paginated=True,
          query={"limit": "page size (like per_page)", "offset": "items to skip"}),
    Route("GET", "/sharing/{guid}", get, "One share you granted or received", "Sharing",
          response=ShareOut, first_party=True, errors=(404,)),
    Route("PUT", "/sharing/{guid}", put, "Change a share you granted", "Sharing", body=SharePut,
          response=ShareOut, first_party=True, errors=(403, 404, 422)),
    Route("DELETE", "/sharing/{guid}", revoke, "Revoke a share, or decline one granted to you",
          "Sharing", status=204, first_party=True, errors=(404,)),
    Route("GET", "/sharing/{guid}/items", items, "The items a share granted to you covers",
          "Sharing", response=list[SharedItemOut], first_party=True, paginated=True,
          errors=(403, 404, 502)),
    Route("GET", "/sharing/{guid}/item", item, "Read one item through a share", "Sharing",
          response=SharedItemOut, first_party=True, query=_ITEM, required_query=_NEEDS_ITEM,
          errors=(400, 403, 404, 502)),
    Route("PATCH", "/sharing/{guid}/item", write_item, "Change an item (needs can_write)",
          "Sharing", body=SharedItemPatch, response=SharedItemOut, first_party=True,
          query=_ITEM, required_query=_NEEDS_ITEM, errors=(400, 403, 404, 502)),
    Route("DELETE", "/sharing/{guid}/item", delete_item, "Delete an item (needs can_delete)",
          "Sharing", status=204, first_party=True, query=_ITEM, required_query=_NEEDS_ITEM,
          errors=(400, 403, 404, 502)),
]  # fmt: skip
