"""Small accessors handlers use to reach the app's parts and render identities."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import CONFIG, SERVICES
from node.models.accounts import IdentityOut
from node.models.media import AttachmentOut
from node.models.social import PostCounts, PostOut, ReactionCount
from node.services.posts import PostView
from node.services.registry import Services
from node.store.identities import Identity
from node.store.media import Attachment

from .client_address import client_address


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def client_of(request: web.Request) -> str:
    """The client's address, taken from X-Forwarded-For only behind a trusted proxy."""
    proxies = request.app[CONFIG].server.proxy_networks
    # Every line of the header: some proxies add their own line rather than extend the client's.
    forwarded = ", ".join(request.headers.getall("X-Forwarded-For", ()))
    return client_address(request.remote or "", forwarded or None, proxies)


def identity_out(
    request: web.Request, ident: Identity, avatar: Attachment | None = None
) -> IdentityOut:
    config = request.app[CONFIG]
    base = config.server.public_url
    avatar_url = avatar.url_on(base) if avatar else None
    return IdentityOut.of(ident, config.host, base, avatar_url=avatar_url)


async def identity_outs(request: web.Request, idents: list[Identity]) -> list[IdentityOut]:
    """Identities with their avatars (looked up in one query)."""
    avatars = await services(request).media.avatars([i.guid for i in idents])
    return [identity_out(request, i, avatars.get(i.guid)) for i in idents]


def post_out(request: web.Request, view: PostView) -> PostOut:
    p = view.post
    return PostOut(
        id=p.guid,
        uri=p.ap_id,
        author=identity_out(request, view.author, view.author_avatar),
        body=p.body,
        html=p.html,
        visibility=p.visibility,
        local=p.local,
        in_reply_to=p.in_reply_to_guid,
        created_at=p.created_at,
        updated_at=p.updated_at,
        counts=PostCounts(
            likes=view.stats.likes,
            reshares=view.stats.reshares,
            comments=view.stats.comments,
            reactions=sum(view.reactions.values()),
        ),
        liked=view.liked,
        reshared=view.reshared,
        label_ids=view.label_ids,
        attachments=[
            AttachmentOut.of(a, request.app[CONFIG].server.public_url) for a in view.attachments
        ],
        reactions=[ReactionCount(emoji=e, count=n) for e, n in view.reactions.items()],
        my_reaction=view.my_reaction,
        bookmarked=view.bookmarked,
        tags=view.tags,
        space_id=p.space_guid,
        content_warning=p.content_warning,
        sensitive=p.sensitive,
    )
