"""The federation surface: actors, their collections, objects by id, and inboxes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from federation import convert, groups, httpsig, pages
from federation.context import Federation
from federation.inbox import receive, refuse_unwanted_signer, verified_signer
from federation.outbox import note_context
from federation.urls import Urls, host_of
from node.api.pagination import decode_cursor, encode_cursor
from node.clock import iso
from node.errors import ApiError, not_found
from node.store import follows as follow_store
from node.store import identities as identity_store
from node.store import posts as post_store
from node.store import spaces as space_store
from node.store.identities import Identity
from node.store.paging import PageRequest
from node.store.posts import Post
from node.store.spaces import Space

FEDERATION = web.AppKey("federation", Federation)
AS_TYPE = "application/activity+json"
PAGE_SIZE = 40


def _fed(request: web.Request) -> Federation:
    return request.app[FEDERATION]


def as_response(doc: dict, status: int = 200, private: bool = False) -> web.Response:
    """`private`: only the signer of the request may read it, so no shared cache (a proxy in
    front of the pod) may keep it for whoever asks next."""
    headers = {"Vary": "Accept"}  # the same URL gives a browser a page (`wants_page`)
    if private:
        headers["Cache-Control"] = "private"
    return web.json_response(doc, status=status, content_type=AS_TYPE, headers=headers)


def wants_page(request: web.Request) -> bool:
    """A browser following a link to an id: it asks for HTML, and for no JSON type."""
    accept = request.headers.get("Accept", "").lower()
    return "text/html" in accept and not any(
        kind in accept for kind in ("activity+json", "ld+json", "application/json")
    )


def page_response(text: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Vary": "Accept", "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY},
    )


async def _local(fed: Federation, username: str) -> Identity:
    ident = await identity_store.get_by_handle(fed.db, username, None)
    if ident is None:
        if await identity_store.name_retired(fed.db, username):
            raise ApiError(410, "gone", "This actor was deleted.")
        raise not_found("Actor")
    return ident


async def actor(request: web.Request) -> web.Response:
    fed = _fed(request)
    ident = await _local(fed, request.match_info["username"])
    if wants_page(request):
        return page_response(pages.profile_page(ident, fed.urls))
    pem = await fed.keys.public_pem(fed.urls.actor(ident.username))
    avatar = (await fed.services.media.avatars([ident.guid])).get(ident.guid)
    return as_response(convert.person_to_as(ident, fed.urls, pem, avatar))


async def instance_actor(request: web.Request) -> web.Response:
    fed = _fed(request)
    pem = await fed.keys.public_pem(fed.urls.instance_actor)
    return as_response(convert.instance_actor_to_as(fed.urls, pem, fed.config.instance.name))


async def instance_outbox(request: web.Request) -> web.Response:
    """The instance actor's outbox, which its document names: it publishes nothing."""
    return as_response(convert.collection(f"{_fed(request).urls.instance_actor}/outbox", 0, None))


async def _signer(request: web.Request, fed: Federation) -> Identity | None:
    """The verified remote identity behind a signed GET; None when unsigned, or signed so that
    it cannot be verified (a malformed or expired signature, a key that cannot be fetched, one
    that does not verify): the request is then anyone's and is shown what is public, as
    Mastodon shows it outside its secure mode. What only a signer may read stays 404, so a
    failed signature gains nothing; refusing it outright would keep public posts from a pod
    whose key we cannot reach just then. A blocked domain's signature is refused (403)."""
    if not httpsig.carries_signature(request.headers):
        return None
    try:
        pending = httpsig.check_request(
            request.method, request.raw_path, request.headers, None, fed.urls.host,
            fed.clock.now(), timedelta(seconds=fed.config.federation.signature_window_seconds),
            scheme=fed.urls.base.split("://", 1)[0],
        )  # fmt: skip
    except httpsig.SignatureError:
        return None
    try:
        refuse_unwanted_signer(fed, pending)
        actor, ident = await verified_signer(fed, pending)
    except ApiError as exc:
        if exc.status != 401:
            raise
        return None
    # A pod whose people only read (fetching our posts) is heard from so too: if its
    # deliveries were paused, they resume, as when it posts to an inbox.
    await fed.worker.heard_from(host_of(actor.uri))
    return ident


async def _readable_note(request: web.Request) -> tuple[Post, dict[str, Any]]:
    """A local post as a Note, for whoever may read it (a signed GET shows who asks); 404 to
    anyone else, 410 once it was deleted (its tombstone says so, and nothing more)."""
    fed = _fed(request)
    signer = await _signer(request, fed)
    post, author = await _local_post(fed, signer.guid if signer else None, request)
    return post, await fed.outbox.published_note(fed.db, post, author)


async def _local_post(
    fed: Federation, viewer: str | None, request: web.Request
) -> tuple[Post, Identity]:
    """The local post at the request's id and its author, if `viewer` (None: anyone) may read
    it; 404 otherwise, 410 once it was deleted."""
    guid = request.match_info["guid"]
    try:
        post = await fed.services.posts.get_for(viewer, guid)
    except ApiError as exc:
        if exc.status == 404 and await post_store.is_tombstoned(fed.db, fed.urls.post(guid)):
            raise ApiError(410, "gone", "This post was deleted.") from None
        raise
    author = await identity_store.get(fed.db, post.author_guid)
    if not post.local or author is None:
        raise not_found("Post")
    return post, author


async def post_object(request: web.Request) -> web.Response:
    if wants_page(request):
        return await _post_page(request)
    post, note = await _readable_note(request)
    doc = {"@context": note_context(note), **note}
    return as_response(doc, private=post.visibility != "public")


async def _post_page(request: web.Request) -> web.Response:
    """A local post anyone may read, as a page (a browser's request is never signed)."""
    fed = _fed(request)
    post, author = await _local_post(fed, None, request)
    return page_response(pages.post_page(post, author, fed.urls))


async def post_activity(request: web.Request) -> web.Response:
    """The Create of a post, at the id the outbox gives it."""
    post, note = await _readable_note(request)
    actor = note["attributedTo"]
    doc = convert.activity(
        f"{post.ap_id}/activity", "Create", actor, note, to=note["to"], cc=note["cc"],
        published=post.created_at,
    )  # fmt: skip
    doc["@context"] = note_context(note)
    return as_response(doc, private=post.visibility != "public")


def _page_url(uri: str, cursor: str) -> str:
    return f"{uri}?page={cursor}"


async def _collection(request: web.Request, side: str) -> web.Response:
    fed = _fed(request)
    ident = await _local(fed, request.match_info["username"])
    uri = (fed.urls.followers if side == "followers" else fed.urls.following)(ident.username)
    page_token = request.query.get("page")
    if page_token is None:
        total = await follow_store.count(fed.db, ident.guid, side)
        return as_response(convert.collection(uri, total, _page_url(uri, "first")))
    if page_token == "first":
        page = PageRequest(PAGE_SIZE)
    else:
        direction, key = decode_cursor(page_token)
        page = PageRequest(PAGE_SIZE, direction, key)  # type: ignore[arg-type]
    lister = follow_store.followers if side == "followers" else follow_store.following
    items, result = await lister(fed.db, ident.guid, page)
    uris = [await _actor_uri(fed, other) for _, other in items]
    next_uri = (
        _page_url(uri, encode_cursor("after", result.last_key())) if result.has_next else None
    )
    prev_uri = (
        _page_url(uri, encode_cursor("before", result.first_key())) if result.has_prev else None
    )
    return as_response(
        convert.collection_page(_page_url(uri, page_token), uri, uris, next_uri, prev_uri)
    )


async def _actor_uri(fed: Federation, ident: Identity) -> str:
    if ident.local:
        return fed.urls.actor(ident.username)
    remote = await fed.directory.remote(ident.guid)
    return remote.uri if remote else ""


async def followers(request: web.Request) -> web.Response:
    return await _collection(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _collection(request, "following")


async def outbox(request: web.Request) -> web.Response:
    """Public posts, newest first, as Create activities."""
    fed = _fed(request)
    ident = await _local(fed, request.match_info["username"])
    uri = fed.urls.outbox(ident.username)
    token = request.query.get("page")
    if token is None:
        total = await fed.db.fetchval(
            "SELECT count(*) FROM posts WHERE author_guid = ? AND visibility = 'public'",
            (ident.guid,),
        )
        return as_response(convert.collection(uri, int(total), _page_url(uri, "first")))
    if token == "first":
        page = PageRequest(PAGE_SIZE)
    else:
        direction, key = decode_cursor(token)
        page = PageRequest(PAGE_SIZE, direction, key)  # type: ignore[arg-type]
    posts, result = await post_store.by_author(fed.db, ident.guid, None, iso(fed.clock.now()), page)
    actor_uri = fed.urls.actor(ident.username)
    items = []
    for post in posts:
        note = await fed.outbox.published_note(fed.db, post, ident)
        to, cc = note["to"], note["cc"]
        items.append(
            {"id": f"{post.ap_id}/activity", "type": "Create", "actor": actor_uri, "object": note,
             "to": to, "cc": cc, "published": post.created_at}
        )  # fmt: skip
    next_uri = (
        _page_url(uri, encode_cursor("after", result.last_key())) if result.has_next else None
    )
    doc = convert.collection_page(_page_url(uri, token), uri, items, next_uri, None)
    doc["@context"] = note_context(*(item["object"] for item in items))
    return as_response(doc)


async def shared_items(request: web.Request) -> web.Response:
    """The items of a share, for its remote grantee's signed fetch; 404 to anyone else."""
    fed = _fed(request)
    signer = await _signer(request, fed)
    if signer is None:
        raise not_found("Share")
    share = await fed.services.sharing.for_remote_reader(signer.guid, request.match_info["guid"])
    uri = f"{share.ap_id}/items"
    token = request.query.get("page")
    if token is None:
        page = PageRequest(PAGE_SIZE)
    else:
        direction, key = decode_cursor(token)
        page = PageRequest(PAGE_SIZE, direction, key)  # type: ignore[arg-type]
    posts, result = await fed.services.posts.shared(signer.guid, share.guid, page)
    items = []
    for post in posts:
        author = await identity_store.get(fed.db, post.author_guid)
        assert author is not None
        items.append(await fed.outbox.published_note(fed.db, post, author))
    next_uri = (
        _page_url(uri, encode_cursor("after", result.last_key())) if result.has_next else None
    )
    doc = convert.collection_page(
        _page_url(uri, token) if token else uri, uri, items, next_uri, None
    )
    doc["@context"] = note_context(*items)
    return as_response(doc, private=True)


async def shared_inbox(request: web.Request) -> web.Response:
    return await receive(_fed(request), request, None)


async def personal_inbox(request: web.Request) -> web.Response:
    fed = _fed(request)
    ident = await _local(fed, request.match_info["username"])
    return await receive(fed, request, ident.username)


async def _local_space(fed: Federation, guid: str) -> Space:
    space = await space_store.get(fed.db, guid)
    if space is None or not space.local:
        raise not_found("Actor")
    return space


async def group_actor(request: web.Request) -> web.Response:
    """A space as a Group actor (also what an invite link `...?invite=code` shows)."""
    fed = _fed(request)
    space = await _local_space(fed, request.match_info["guid"])
    pem = await fed.keys.public_pem(fed.urls.group(space.guid))
    return as_response(groups.group_to_as(space, fed.urls, pem, space.created_at))


async def group_inbox(request: web.Request) -> web.Response:
    fed = _fed(request)
    await _local_space(fed, request.match_info["guid"])
    return await receive(fed, request, None)  # handlers find the Group in the activity


async def group_members(request: web.Request) -> web.Response:
    """The Group's followers: its members, listed for public spaces, counted for private."""
    fed = _fed(request)
    space = await _local_space(fed, request.match_info["guid"])
    uri = fed.urls.group_members(space.guid)
    token = request.query.get("page")
    if token is None or not space.public:
        total = await space_store.member_count(fed.db, space.guid)
        first = _page_url(uri, "first") if space.public else None
        return as_response(convert.collection(uri, total, first))
    if token == "first":
        page = PageRequest(PAGE_SIZE)
    else:
        direction, key = decode_cursor(token)
        page = PageRequest(PAGE_SIZE, direction, key)  # type: ignore[arg-type]
    refs, result = await space_store.member_refs(fed.db, space.guid, page)
    uris = [remote or fed.urls.actor(username) for username, remote in refs]
    next_uri = (
        _page_url(uri, encode_cursor("after", result.last_key())) if result.has_next else None
    )
    return as_response(convert.collection_page(_page_url(uri, token), uri, uris, next_uri, None))


async def group_outbox(request: web.Request) -> web.Response:
    fed = _fed(request)
    space = await _local_space(fed, request.match_info["guid"])
    return as_response(convert.collection(fed.urls.group_outbox(space.guid), 0, None))


def setup(app: web.Application, fed: Federation) -> None:
    app[FEDERATION] = fed
    r = app.router
    r.add_get("/actor", instance_actor)
    r.add_post("/actor/inbox", shared_inbox)
    r.add_get("/actor/outbox", instance_outbox)
    r.add_post("/inbox", shared_inbox)
    r.add_get("/users/{username}", actor)
    r.add_post("/users/{username}/inbox", personal_inbox)
    r.add_get("/users/{username}/outbox", outbox)
    r.add_get("/users/{username}/followers", followers)
    r.add_get("/users/{username}/following", following)
    r.add_get("/posts/{guid}", post_object)
    r.add_get("/posts/{guid}/activity", post_activity)
    r.add_get("/shares/{guid}/items", shared_items)
    r.add_get("/groups/{guid}", group_actor)
    r.add_post("/groups/{guid}/inbox", group_inbox)
    r.add_get("/groups/{guid}/followers", group_members)
    r.add_get("/groups/{guid}/outbox", group_outbox)


__all__ = ["FEDERATION", "Urls", "setup"]
