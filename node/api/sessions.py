"""/sessions: log in, list, inspect, switch identity, log out and revoke."""

from __future__ import annotations

from aiohttp import web

from node.errors import forbidden, validation
from node.models.accounts import LoginIn, LoginOut, SessionOut, SessionPatch

from .context import client_of, services
from .http import header_text, json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginIn)
    name = body.username or body.email
    if not name:
        raise validation({"username": "give a username or an email"})
    token, session = await services(request).sessions.login(
        name, body.password, header_text(request, "User-Agent"), client_of(request)
    )
    return json_response(LoginOut(token=token, session=SessionOut.of(session, session.guid)), 201)


async def list_sessions(request: web.Request) -> web.Response:
    who = principal(request)
    page = page_request(request)
    items, result = await services(request).sessions.list(who, page)
    return page_response(
        request, [SessionOut.of(s, who.session_guid) for s in items], result, page.limit
    )


def _target(request: web.Request) -> str:
    """The session a route acts on; app tokens may see and revoke only themselves."""
    who = principal(request)
    guid = request.match_info["guid"]
    if guid in ("current", who.session_guid):
        return who.session_guid
    if not who.first_party:
        raise forbidden("App tokens may only see and revoke themselves.", "first_party_only")
    return guid


async def get_session(request: web.Request) -> web.Response:
    who = principal(request)
    session = await services(request).sessions.get(who, _target(request))
    return json_response(SessionOut.of(session, who.session_guid))


async def patch_current(request: web.Request) -> web.Response:
    body = await read_json(request, SessionPatch)
    who = principal(request)
    session = await services(request).sessions.switch_identity(who, body.identity_id)
    return json_response(SessionOut.of(session, who.session_guid))


async def revoke(request: web.Request) -> web.Response:
    await services(request).sessions.revoke(principal(request), _target(request))
    return web.Response(status=204)


ROUTES = [
    Route(
        "POST",
        "/sessions",
        login,
        "Log in with a username or email and a password",
        "Sessions",
        body=LoginIn,
        response=LoginOut,
        status=201,
        auth=False,
        errors=(401, 422, 429),
    ),
    Route(
        "GET",
        "/sessions",
        list_sessions,
        "The account's sessions and app tokens",
        "Sessions",
        response=list[SessionOut],
        first_party=True,
        paginated=True,
    ),
    Route(
        "GET",
        "/sessions/{guid}",
        get_session,
        "One session (`current` for the caller's)",
        "Sessions",
        response=SessionOut,
        errors=(403, 404),
    ),
    Route(
        "PATCH",
        "/sessions/current",
        patch_current,
        "Act as another identity of the account",
        "Sessions",
        body=SessionPatch,
        response=SessionOut,
        first_party=True,
        errors=(404,),
    ),
    Route(
        "DELETE",
        "/sessions/{guid}",
        revoke,
        "Log out (`current`) or revoke a session",
        "Sessions",
        status=204,
        errors=(403, 404),
    ),
]
