"""Small accessors handlers use to reach the app's parts and render identities."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import CONFIG, SERVICES
from node.models.accounts import IdentityOut
from node.models.social import PostCounts, PostOut
from node.services.posts import PostView
from node.services.registry import Services
from node.store.identities import Identity


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def identity_out(request: web.Request, ident: Identity) -> IdentityOut:
    config = request.app[CONFIG]
    return IdentityOut.of(ident, config.host, config.server.public_url)


def post_out(request: web.Request, view: PostView) -> PostOut:
    p = view.post
    return PostOut(
        id=p.guid,
        uri=p.ap_id,
        author=identity_out(request, view.author),
        body=p.body,
        html=p.html,
        visibility=p.visibility,
        local=p.local,
        in_reply_to=p.in_reply_to_guid,
        created_at=p.created_at,
        updated_at=p.updated_at,
        counts=PostCounts(
            likes=view.stats.likes, reshares=view.stats.reshares, comments=view.stats.comments
        ),
        liked=view.liked,
        reshared=view.reshared,
    )
