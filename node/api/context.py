"""Small accessors handlers use to reach the app's parts and render identities."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import CONFIG, SERVICES
from node.models.accounts import IdentityOut
from node.services.registry import Services
from node.store.identities import Identity


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def identity_out(request: web.Request, ident: Identity) -> IdentityOut:
    config = request.app[CONFIG]
    return IdentityOut.of(ident, config.host, config.server.public_url)
