"""The route table: one Route per operation, registered on the app and described in OpenAPI.

Every API path is also reachable with a `.json` suffix (diaspora* convention).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from node.errors import forbidden
from node.services.principal import Principal

from .auth import authenticate

API_PREFIX = "/api/v1"
PRINCIPAL = web.RequestKey("principal", Principal)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # below /api/v1
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    body_optional: bool = False  # the route also takes no body at all
    response: Any = None  # a model, list[model], or None for no body
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses, with the same body
    auth: bool = True  # a bearer token is required
    scope: str | None = None  # and must carry this scope
    first_party: bool = False  # and must be a login session, not an app token
    paginated: bool = False
    query: dict[str, str] = field(default_factory=dict)  # name -> description
    required_query: tuple[str, ...] = ()  # those of `query` the route cannot go without
    errors: tuple[int, ...] = ()


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def _guard(route: Route) -> Handler:
    if not route.auth:
        return route.handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        who = await authenticate(request)
        if route.scope:
            who.require(route.scope)
        if route.first_party and not who.first_party:
            raise forbidden("Only first-party sessions may use this route.", "first_party_only")
        request[PRINCIPAL] = who
        return await route.handler(request)

    return guarded


def install(app: web.Application, routes: list[Route]) -> None:
    for route in routes:
        handler = _guard(route)
        path = API_PREFIX + route.path
        # The suffixed form first, so that `{guid}` does not swallow ".json".
        for form in (path + ".json", path):
            if route.method == "GET":
                app.router.add_get(form, handler)  # HEAD too, which HTTP requires with GET
            else:
                app.router.add_route(route.method, form, handler)
