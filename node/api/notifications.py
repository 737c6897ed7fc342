"""/notifications: list, unread badge, mark read."""

from __future__ import annotations

from aiohttp import web

from node.models.sharing import BadgeOut, MarkedOut, NotificationOut
from node.store.notifications import Notification

from .context import identity_out, services
from .http import json_response, page_response
from .pagination import page_request
from .routing import Route, principal


async def _out(request: web.Request, n: Notification) -> NotificationOut:
    actor = None
    if n.actor_guid:
        ident = await services(request).identities.known(n.actor_guid)
        actor = identity_out(request, ident)
    return NotificationOut(
        id=n.guid,
        kind=n.kind,
        actor=actor,
        subject_id=n.subject_guid,
        detail=n.detail,
        created_at=n.created_at,
        read=n.read_at is not None,
    )


async def list_notifications(request: web.Request) -> web.Response:
    page = page_request(request)
    unread = request.query.get("unread", "").lower() in ("1", "true", "yes")
    items, result = await services(request).notifications.list(principal(request), unread, page)
    return page_response(request, [await _out(request, n) for n in items], result, page.limit)


async def badge(request: web.Request) -> web.Response:
    return json_response(
        BadgeOut(unread=await services(request).notifications.badge(principal(request)))
    )


async def mark_one(request: web.Request) -> web.Response:
    count = await services(request).notifications.mark_read(
        principal(request), request.match_info["guid"]
    )
    return json_response(MarkedOut(marked=count))


async def mark_all(request: web.Request) -> web.Response:
    count = await services(request).notifications.mark_read(principal(request), None)
    return json_response(MarkedOut(marked=count))


ROUTES = [
    Route("GET", "/notifications", list_notifications, "Your notifications, newest first",
          "Notifications", response=list[NotificationOut], scope="notifications", paginated=True,
          query={"unread": "true: only unread ones"}),
    Route("GET", "/notifications/badge", badge, "How many are unread", "Notifications",
          response=BadgeOut, scope="notifications"),
    Route("POST", "/notifications/read", mark_all, "Mark all read", "Notifications",
          response=MarkedOut, scope="notifications"),
    Route("POST", "/notifications/{guid}/read", mark_one, "Mark one read", "Notifications",
          response=MarkedOut, scope="notifications", errors=(404,)),
]  # fmt: skip
