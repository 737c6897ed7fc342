"""WebFinger (RFC 7033) and host-meta (RFC 6415) for this pod's local actors.

Local identities live at `{public_url}/users/{username}`; their handle is
`username@{config.host}`. The same namespace answers for the instance actor (`/actor`, named
after the host: `{host}@{host}`) and for the spaces' Groups (`{space name}@{host}`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from aiohttp import web

from federation.urls import Urls
from node.appkeys import CONFIG, DB
from node.errors import ApiError, bad_request, not_found
from node.store import identities as identity_store
from node.store import spaces as space_store

MAX_RESOURCE = 500
JRD = "application/jrd+json"
XRD = "application/xrd+xml"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
ACTIVITY_JSON = "application/activity+json"

# RFC 7565 userpart, narrowed to what handles use; the stricter local rules apply on lookup.
_USERPART_RE = re.compile(r"^[A-Za-z0-9_.~-]+$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")
_ACTOR_PATH_RE = re.compile(r"^/users/([^/]+)$")

# WebFinger and host-meta are read by browser clients on other origins (RFC 7033 §5).
_CORS = {"Access-Control-Allow-Origin": "*"}


class MalformedResource(ValueError):
    """The resource is not an acct: handle or http(s) URL we can read (400)."""


def parse_resource(resource: str, host: str, public_url: str) -> str | None:
    """The username a WebFinger resource names on this pod.

    Accepts `acct:name@host`, `name@host` (as Mastodon does) and the actor URL
    `{public_url}/users/{name}`; the instance actor's name is the host itself. Returns None
    for a well-formed resource that is not ours (another host, another path); raises
    MalformedResource otherwise.
    """
    resource = resource.strip()
    if not resource:
        raise MalformedResource("The resource is empty.")
    if len(resource) > MAX_RESOURCE:
        raise MalformedResource(f"The resource is longer than {MAX_RESOURCE} characters.")
    if re.match(r"^https?://", resource, re.IGNORECASE):
        return _username_from_url(resource, public_url)
    handle = resource[5:] if resource[:5].lower() == "acct:" else resource
    user, sep, domain = handle.partition("@")
    if not sep or "@" in domain:
        raise MalformedResource("The resource must be acct:name@host or an actor URL.")
    instance = user.lower() == host.lower()
    if not (_USERPART_RE.match(user) or instance) or not _HOST_RE.match(domain):
        raise MalformedResource("The resource has characters a handle cannot have.")
    if domain.lower() != host.lower():
        return None
    return user


def _username_from_url(resource: str, public_url: str) -> str | None:
    try:
        parts = urlsplit(resource)
        _ = parts.port  # reading it raises ValueError for a port that is not a number
    except ValueError:
        raise MalformedResource("The resource is not a valid URL.") from None
    if not parts.hostname or any(c.isspace() for c in resource):
        raise MalformedResource("The resource is not a valid URL.")
    ours = urlsplit(public_url)
    same_origin = (parts.scheme.lower(), parts.netloc.lower()) == (
        ours.scheme.lower(),
        ours.netloc.lower(),
    )
    match = _ACTOR_PATH_RE.match(parts.path)
    if not same_origin or match is None or parts.query or parts.fragment:
        return None
    if not _USERPART_RE.match(match.group(1)):
        raise MalformedResource("The resource has characters a handle cannot have.")
    return match.group(1)


def actor_url(public_url: str, username: str) -> str:
    return f"{public_url}/users/{username}"


def jrd(username: str, host: str, public_url: str, actor: str | None = None) -> dict[str, Any]:
    """The WebFinger answer for a local identity (its canonical username), or for another
    local actor (a space's Group) when `actor` is given."""
    actor = actor or actor_url(public_url, username)
    return {
        "subject": f"acct:{username}@{host}",
        "aliases": [actor],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": actor},
        ],
    }


def lrdd_template(public_url: str) -> str:
    return f"{public_url}/.well-known/webfinger?resource={{uri}}"


def host_meta_xml(public_url: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(lrdd_template(public_url))}/>\n'
        "</XRD>\n"
    )


def _respond(text: str, media_type: str) -> web.Response:
    return web.Response(text=text, content_type=media_type, headers=_CORS)


async def webfinger(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    resources = request.query.getall("resource", [])
    if len(resources) != 1:
        raise bad_request("Give exactly one `resource` query parameter.", "invalid_resource")
    try:
        username = parse_resource(resources[0], config.host, config.server.public_url)
    except MalformedResource as exc:
        raise ApiError(400, "invalid_resource", str(exc)) from None
    answer = await _answer(request.app, username) if username is not None else None
    if answer is None:
        raise not_found("Resource")
    rels = request.query.getall("rel", [])
    if rels:  # RFC 7033 §4.3: `rel` narrows the links, never the rest
        answer["links"] = [link for link in answer["links"] if link["rel"] in rels]
    return _respond(json.dumps(answer), JRD)


async def _answer(app: web.Application, name: str) -> dict[str, Any] | None:
    """The JRD of a local name: an identity's first (names are one namespace), then the
    instance actor's, then a space's Group's."""
    config, db = app[CONFIG], app[DB]
    public_url = config.server.public_url
    ident = await identity_store.get_by_handle(db, name, None)
    if ident is not None:
        return jrd(ident.username, config.host, public_url)
    urls = Urls(public_url)
    if name.lower() == config.host.lower():
        # Mastodon checks the WebFinger of `preferredUsername@host` whenever it fetches a key,
        # ours too: without an answer it refuses every fetch the pod signs.
        return jrd(config.host, config.host, public_url, actor=urls.instance_actor)
    space = await space_store.by_name(db, name, None)
    # Public spaces answer, so other pods can join them by name@host. A private one does not:
    # its name, and that it exists, are for its members.
    if space is None or not space.local or not space.public:
        return None
    return jrd(space.name, config.host, public_url, actor=urls.group(space.guid))


async def host_meta(request: web.Request) -> web.Response:
    return _respond(host_meta_xml(request.app[CONFIG].server.public_url), XRD)


async def host_meta_json(request: web.Request) -> web.Response:
    public_url = request.app[CONFIG].server.public_url
    links = [{"rel": "lrdd", "template": lrdd_template(public_url)}]
    return _respond(json.dumps({"links": links}), JRD)


def setup(app: web.Application) -> None:
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/.well-known/host-meta", host_meta)
    app.router.add_get("/.well-known/host-meta.json", host_meta_json)
