"""Requests answered since the pod started, by status class: counted in memory, per app."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class Traffic:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_class = dict.fromkeys(CLASSES, 0)

    def count(self, status: int) -> None:
        key = f"{status // 100}xx"
        if key in self.by_class:
            self.by_class[key] += 1

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started


def counting_middleware(traffic: Traffic) -> Middleware:
    """Outermost: sees the status of every answer, errors rendered as JSON included."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            traffic.count(exc.status)
            raise
        traffic.count(response.status)
        return response

    return count
