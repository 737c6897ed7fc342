"""/streams/*, comments of a post, reactions, bookmarks, hashtags and /tag_followings."""

from __future__ import annotations

from aiohttp import web

from node.models.social import PostOut
from node.models.streams import ReactionIn, TagFollowingOut, TagIn

from .context import post_out, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .post_json import render_posts
from .routing import Handler, Route, principal

STREAMS = ("activity", "mentions", "tags", "liked", "commented", "bookmarks")


def _stream(name: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        page = page_request(request)
        who = principal(request)
        posts, result = await services(request).streams.stream(who, name, page)
        body = await render_posts(request, posts, who)
        return page_response(request, body, result, page.limit)

    handler.__name__ = f"stream_{name}"
    return handler


async def comments(request: web.Request) -> web.Response:
    page = page_request(request)
    who = principal(request)
    posts, result = await services(request).streams.comments(who, request.match_info["guid"], page)
    body = await render_posts(request, posts, who)
    return page_response(request, body, result, page.limit)


async def tagged(request: web.Request) -> web.Response:
    page = page_request(request)
    who = principal(request)
    posts, result = await services(request).streams.tagged(who, request.match_info["tag"], page)
    body = await render_posts(request, posts, who)
    return page_response(request, body, result, page.limit)


async def _post(request: web.Request) -> web.Response:
    who = principal(request)
    view = await services(request).posts.get(who, request.match_info["guid"])
    return json_response(post_out(request, view))


async def react(request: web.Request) -> web.Response:
    body = await read_json(request, ReactionIn)
    await services(request).reactions.react(
        principal(request), request.match_info["guid"], body.emoji
    )
    return await _post(request)


async def unreact(request: web.Request) -> web.Response:
    await services(request).reactions.unreact(principal(request), request.match_info["guid"])
    return await _post(request)


async def bookmark(request: web.Request) -> web.Response:
    await services(request).reactions.bookmark(principal(request), request.match_info["guid"])
    return await _post(request)


async def unbookmark(request: web.Request) -> web.Response:
    await services(request).reactions.unbookmark(principal(request), request.match_info["guid"])
    return await _post(request)


async def tag_followings(request: web.Request) -> web.Response:
    tags = await services(request).streams.followed_tags(principal(request))
    return json_response([TagFollowingOut(name=t, created_at=c) for t, c in tags])


async def follow_tag(request: web.Request) -> web.Response:
    body = await read_json(request, TagIn)
    name, created, new = await services(request).streams.follow_tag(principal(request), body.name)
    out = TagFollowingOut(name=name, created_at=created)
    return json_response(out, status=201 if new else 200)


async def unfollow_tag(request: web.Request) -> web.Response:
    await services(request).streams.unfollow_tag(principal(request), request.match_info["tag"])
    return web.Response(status=204)


ROUTES = [
    *(
        Route("GET", f"/streams/{name}", _stream(name), f"The {name} stream, newest first",
              "Streams", response=list[PostOut], paginated=True,
              # Bookmarks are private data, whatever the posts bookmarked.
              scope="private:read" if name == "bookmarks" else "public:read")
        for name in STREAMS
    ),
    Route("GET", "/posts/{guid}/comments", comments, "Comments on a post, newest first", "Posts",
          response=list[PostOut], scope="public:read", paginated=True, errors=(404,)),
    Route("GET", "/tags/{tag}/posts", tagged, "Posts with a hashtag", "Streams",
          response=list[PostOut], scope="public:read", paginated=True, errors=(422,)),
    Route("PUT", "/posts/{guid}/reaction", react, "React with one emoji (replaces yours)",
          "Posts", body=ReactionIn, response=PostOut, scope="interactions", errors=(404, 422)),
    Route("DELETE", "/posts/{guid}/reaction", unreact, "Take back your reaction", "Posts",
          response=PostOut, scope="interactions", errors=(404,)),
    Route("PUT", "/posts/{guid}/bookmark", bookmark, "Bookmark a post (private)", "Posts",
          response=PostOut, scope="private:modify", errors=(404,)),
    Route("DELETE", "/posts/{guid}/bookmark", unbookmark, "Remove a bookmark", "Posts",
          response=PostOut, scope="private:modify", errors=(404,)),
    Route("GET", "/tag_followings", tag_followings, "Hashtags you follow", "Streams",
          response=list[TagFollowingOut], scope="public:read"),
    Route("POST", "/tag_followings", follow_tag, "Follow a hashtag (200: already followed)",
          "Streams", body=TagIn, response=TagFollowingOut, status=201, also=(200,),
          scope="public:modify", errors=(409, 422)),
    Route("DELETE", "/tag_followings/{tag}", unfollow_tag, "Stop following a hashtag",
          "Streams", status=204, scope="public:modify", errors=(404, 422)),
]  # fmt: skip
