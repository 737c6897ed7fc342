"""/identities and /identity/current: an account's identities and everyone's public profiles."""

from __future__ import annotations

from aiohttp import web

from node.models.accounts import IdentityCreate, IdentityOut, IdentityPatch

from .context import identity_outs, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


async def list_mine(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).identities.mine(principal(request), page)
    return page_response(request, await identity_outs(request, items), result, page.limit)


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, IdentityCreate)
    ident = await services(request).identities.create(
        principal(request),
        body.username,
        body.display_name,
        body.bio,
        body.locked,
        body.discoverable,
    )
    return json_response((await identity_outs(request, [ident]))[0], status=201)


async def get_current(request: web.Request) -> web.Response:
    ident = await services(request).identities.current(principal(request))
    return json_response((await identity_outs(request, [ident]))[0])


async def patch_current(request: web.Request) -> web.Response:
    body = await read_json(request, IdentityPatch)
    changes = body.model_dump(exclude_unset=True)
    for key in ("display_name", "bio", "locked", "discoverable", "fields"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    ident = await services(request).identities.update(principal(request), changes)
    return json_response((await identity_outs(request, [ident]))[0])


async def get_one(request: web.Request) -> web.Response:
    guid = request.match_info["guid"]
    svc = services(request).identities
    ident = await (svc.current(principal(request)) if guid == "current" else svc.get(guid))
    return json_response((await identity_outs(request, [ident]))[0])


ROUTES = [
    Route(
        "GET",
        "/identities",
        list_mine,
        "The identities of the caller's account",
        "Identities",
        response=list[IdentityOut],
        scope="profile",
        paginated=True,
    ),
    Route(
        "POST",
        "/identities",
        create,
        "Add an identity to the account",
        "Identities",
        body=IdentityCreate,
        response=IdentityOut,
        status=201,
        first_party=True,
        errors=(409, 422),
    ),
    Route(
        "GET",
        "/identity/current",
        get_current,
        "The identity the caller acts as",
        "Identities",
        response=IdentityOut,
        scope="profile",
    ),
    Route(
        "PATCH",
        "/identity/current",
        patch_current,
        "Update the caller's profile",
        "Identities",
        body=IdentityPatch,
        response=IdentityOut,
        scope="profile:modify",
        errors=(422,),
    ),
    Route(
        "GET",
        "/identities/{guid}",
        get_one,
        "An identity's public profile",
        "Identities",
        response=IdentityOut,
        scope="profile",
        errors=(404,),
    ),
]
