"""/follows, follow requests, followers and following lists, /lookup of remote identities."""

from __future__ import annotations

from aiohttp import web

from node.errors import bad_request
from node.models.accounts import IdentityOut
from node.models.social import FollowIn, FollowOut
from node.store.follows import Follow
from node.store.identities import Identity

from .context import identity_outs, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


async def _follow_outs(
    request: web.Request, items: list[tuple[Follow, Identity]]
) -> list[FollowOut]:
    people = await identity_outs(request, [other for _, other in items])
    return [
        FollowOut(
            id=follow.guid,
            state=follow.state,  # type: ignore[arg-type]
            identity=person,
            created_at=follow.created_at,
        )
        for (follow, _), person in zip(items, people, strict=True)
    ]


async def follow(request: web.Request) -> web.Response:
    body = await read_json(request, FollowIn)
    view = await services(request).follows.follow(principal(request), body.target)
    return json_response(
        (await _follow_outs(request, [(view.follow, view.target)]))[0], 201 if view.created else 200
    )


async def unfollow(request: web.Request) -> web.Response:
    await services(request).follows.unfollow(principal(request), request.match_info["guid"])
    return web.Response(status=204)


async def requests(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).follows.requests(principal(request), page)
    return page_response(request, await _follow_outs(request, items), result, page.limit)


async def _answer(request: web.Request, accept: bool) -> web.Response:
    follow = await services(request).follows.answer(
        principal(request), request.match_info["guid"], accept
    )
    follower = await services(request).identities.known(follow.follower_guid)
    return json_response((await _follow_outs(request, [(follow, follower)]))[0])


async def approve(request: web.Request) -> web.Response:
    return await _answer(request, True)


async def reject(request: web.Request) -> web.Response:
    return await _answer(request, False)


async def remove_follower(request: web.Request) -> web.Response:
    await services(request).follows.remove_follower(principal(request), request.match_info["guid"])
    return web.Response(status=204)


def _identity_param(request: web.Request) -> str:
    guid = request.match_info["guid"]
    return principal(request).identity_guid if guid == "current" else guid


async def _people(request: web.Request, side: str) -> web.Response:
    svc = services(request)
    ident = await svc.identities.get(_identity_param(request))
    page = page_request(request)
    lister = svc.follows.followers if side == "followers" else svc.follows.following
    items, result = await lister(ident.guid, page)
    return page_response(request, await _follow_outs(request, items), result, page.limit)


async def followers(request: web.Request) -> web.Response:
    return await _people(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _people(request, "following")


async def lookup(request: web.Request) -> web.Response:
    acct = request.query.get("acct", "")
    if not acct or len(acct) > 300:
        raise bad_request("Give ?acct=name@host.", "missing_acct")
    svc = services(request)
    ident = await svc.follows.lookup(acct)
    return json_response((await identity_outs(request, [ident]))[0])


ROUTES = [
    Route(
        "POST",
        "/follows",
        follow,
        "Follow an identity by GUID or handle (WebFinger for remote)",
        "Follows",
        body=FollowIn,
        response=FollowOut,
        status=201,
        also=(200,),  # already followed (or requested)
        scope="contacts:modify",
        errors=(403, 404, 422),
    ),
    Route(
        "DELETE",
        "/follows/{guid}",
        unfollow,
        "Stop following the identity with this GUID",
        "Follows",
        status=204,
        scope="contacts:modify",
        errors=(404,),
    ),
    Route(
        "GET",
        "/follows/requests",
        requests,
        "Pending requests to follow me",
        "Follows",
        response=list[FollowOut],
        scope="contacts:read",
        paginated=True,
    ),
    Route(
        "POST",
        "/follows/requests/{guid}/approve",
        approve,
        "Approve a follow request",
        "Follows",
        response=FollowOut,
        scope="contacts:modify",
        errors=(404,),
    ),
    Route(
        "POST",
        "/follows/requests/{guid}/reject",
        reject,
        "Reject a follow request",
        "Follows",
        response=FollowOut,
        scope="contacts:modify",
        errors=(404,),
    ),
    Route(
        "DELETE",
        "/followers/{guid}",
        remove_follower,
        "Remove a follower",
        "Follows",
        status=204,
        scope="contacts:modify",
        errors=(404,),
    ),
    Route(
        "GET",
        "/identities/{guid}/followers",
        followers,
        "Who follows an identity",
        "Follows",
        response=list[FollowOut],
        scope="contacts:read",
        paginated=True,
        errors=(404,),
    ),
    Route(
        "GET",
        "/identities/{guid}/following",
        following,
        "Whom an identity follows",
        "Follows",
        response=list[FollowOut],
        scope="contacts:read",
        paginated=True,
        errors=(404,),
    ),
    Route(
        "GET",
        "/lookup",
        lookup,
        "Resolve `name@host` to an identity (fetching remote ones)",
        "Follows",
        response=IdentityOut,
        scope="profile",
        query={"acct": "name@host"},
        required_query=("acct",),
        errors=(400, 404, 422),
    ),
]
