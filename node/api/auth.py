"""Bearer tokens: `Authorization: Bearer <token>` → the calling Principal."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import SERVICES
from node.errors import unauthorized
from node.services.principal import Principal

from .http import header_text

MAX_TOKEN = 200


async def authenticate(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    # Tokens are short URL-safe text: anything else (bytes that are not even UTF-8) is no token.
    if len(token) > MAX_TOKEN or not token.isascii():
        raise unauthorized("The token is unknown or revoked.")
    return await request.app[SERVICES].sessions.authenticate(
        token, header_text(request, "User-Agent")
    )
