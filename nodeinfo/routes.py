"""/.well-known/nodeinfo and the NodeInfo 2.0 / 2.1 / 2.2 documents."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from node.api.routing import API_PREFIX
from node.appkeys import CLOCK, CONFIG, DB
from nodeinfo.documents import VERSIONS, content_type, discovery, document, facts_from_config
from nodeinfo.stats import UsageCache

# What this pod implements, as advertised in metadata.features; extend as features land.
# What a client app can count on this pod to speak (names of the local API's namespaces).
FEATURES: tuple[str, ...] = (
    "accounts",
    "identities",
    "sessions",
    "follows",
    "posts",
    "comments",
    "reactions",
    "bookmarks",
    "streams",
    "tag_followings",
    "notifications",
    "labels",
    "sharing",
    "media",
    "spaces",
    "webfinger",
    "nodeinfo",
    "openapi",
)

USAGE_CACHE = web.AppKey("nodeinfo_usage_cache", UsageCache)

# Discovery documents are public and read by browser clients on other origins.
_CORS = {"Access-Control-Allow-Origin": "*"}

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _json(data: Any, media_type: str) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        headers={"Content-Type": media_type, **_CORS},
    )


async def well_known(request: web.Request) -> web.Response:
    return _json(discovery(request.app[CONFIG].server.public_url), "application/json")


def _document_handler(version: str, features: Sequence[str]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        config = request.app[CONFIG]
        usage = await request.app[USAGE_CACHE].get()
        facts = facts_from_config(
            config, usage, features, api_base_url=config.server.public_url + API_PREFIX
        )
        return _json(document(facts, version), content_type(version))

    return handler


def setup(app: web.Application, features: Sequence[str] = FEATURES) -> None:
    """Add the NodeInfo routes; call after CONFIG, DB and CLOCK are set."""
    app[USAGE_CACHE] = UsageCache(app[DB], app[CLOCK])
    app.router.add_get("/.well-known/nodeinfo", well_known)
    for version in VERSIONS:
        app.router.add_get(f"/nodeinfo/{version}", _document_handler(version, tuple(features)))
