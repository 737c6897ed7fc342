"""/posts: create, read, edit, delete; likes and reshares; /streams/main."""

from __future__ import annotations

from aiohttp import web

from node.models.social import PostIn, PostOut, PostPatch

from .context import post_out, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .post_json import render_posts
from .routing import Handler, Route, principal


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, PostIn)
    view = await services(request).posts.create(
        principal(request),
        body.body,
        body.visibility,
        body.recipients,
        body.in_reply_to,
        body.label_ids,
        body.attachment_ids,
        space_id=body.space_id,
        content_warning=body.content_warning,
        sensitive=body.sensitive,
    )
    return json_response(post_out(request, view), status=201)


async def get(request: web.Request) -> web.Response:
    view = await services(request).posts.get(principal(request), request.match_info["guid"])
    return json_response(post_out(request, view))


async def edit(request: web.Request) -> web.Response:
    body = await read_json(request, PostPatch)
    view = await services(request).posts.edit(
        principal(request),
        request.match_info["guid"],
        body.body,
        body.label_ids,
        body.content_warning,
        body.sensitive,
    )
    return json_response(post_out(request, view))


async def delete(request: web.Request) -> web.Response:
    await services(request).posts.delete(principal(request), request.match_info["guid"])
    return web.Response(status=204)


def _interaction(kind: str, undo: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        svc = services(request).posts
        guid = request.match_info["guid"]
        if undo:
            view = await svc.undo_interaction(principal(request), guid, kind)
        else:
            view = await svc.interact(principal(request), guid, kind)
        return json_response(post_out(request, view))

    handler.__name__ = f"{'un' if undo else ''}{kind}"
    return handler


async def main_stream(request: web.Request) -> web.Response:
    page = page_request(request)
    who = principal(request)
    posts, result = await services(request).posts.main_stream(who, page)
    body = await render_posts(request, posts, who)
    return page_response(request, body, result, page.limit)


async def by_identity(request: web.Request) -> web.Response:
    who = principal(request)
    guid = request.match_info["guid"]
    svc = services(request)
    ident = await svc.identities.get(who.identity_guid if guid == "current" else guid)
    page = page_request(request)
    posts, result = await svc.posts.by_author(who, ident.guid, page)
    body = await render_posts(request, posts, who)
    return page_response(request, body, result, page.limit)


ROUTES = [
    Route(
        "POST",
        "/posts",
        create,
        "Write a post (public, followers-only or direct)",
        "Posts",
        body=PostIn,
        response=PostOut,
        status=201,
        scope="public:modify",
        errors=(404, 422),
    ),
    Route(
        "GET",
        "/posts/{guid}",
        get,
        "A post, if you may see it",
        "Posts",
        response=PostOut,
        scope="public:read",
        errors=(404,),
    ),
    Route(
        "PATCH",
        "/posts/{guid}",
        edit,
        "Edit your post",
        "Posts",
        body=PostPatch,
        response=PostOut,
        scope="public:modify",
        errors=(403, 404, 422),
    ),
    Route(
        "DELETE",
        "/posts/{guid}",
        delete,
        "Delete your post",
        "Posts",
        status=204,
        scope="public:modify",
        errors=(403, 404),
    ),
    Route(
        "POST",
        "/posts/{guid}/like",
        _interaction("like", False),
        "Like a post",
        "Posts",
        response=PostOut,
        scope="interactions",
        errors=(404,),
    ),
    Route(
        "DELETE",
        "/posts/{guid}/like",
        _interaction("like", True),
        "Take back a like",
        "Posts",
        response=PostOut,
        scope="interactions",
        errors=(404,),
    ),
    Route(
        "POST",
        "/posts/{guid}/reshare",
        _interaction("reshare", False),
        "Reshare a public post",
        "Posts",
        response=PostOut,
        scope="interactions",
        errors=(404, 422),
    ),
    Route(
        "DELETE",
        "/posts/{guid}/reshare",
        _interaction("reshare", True),
        "Undo a reshare",
        "Posts",
        response=PostOut,
        scope="interactions",
        errors=(404,),
    ),
    Route(
        "GET",
        "/streams/main",
        main_stream,
        "Posts of the identities you follow, newest first",
        "Streams",
        response=list[PostOut],
        scope="public:read",
        paginated=True,
    ),
    Route(
        "GET",
        "/identities/{guid}/posts",
        by_identity,
        "An identity's posts you may see",
        "Streams",
        response=list[PostOut],
        scope="public:read",
        paginated=True,
        errors=(404,),
    ),
]
