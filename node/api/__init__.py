"""The local JSON API: thin handlers, one module per namespace."""

from __future__ import annotations

from node.api import (
    accounts,
    follows,
    identities,
    labels,
    media,
    notifications,
    posts,
    sessions,
    sharing,
    spaces,
    streams,
    system,
)
from node.api.routing import Route


def all_routes() -> list[Route]:
    return [
        *system.ROUTES,
        *accounts.ROUTES,
        *sessions.ROUTES,
        *identities.ROUTES,
        *follows.ROUTES,
        *posts.ROUTES,
        *media.ROUTES,
        *labels.ROUTES,
        *sharing.ROUTES,
        *notifications.ROUTES,
        *streams.ROUTES,
        *spaces.ROUTES,
    ]
