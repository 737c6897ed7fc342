"""/system: version and health."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import TRAFFIC
from node.models.system import HealthOut, MetricsOut, VersionOut
from node.version import API_VERSIONS, SOFTWARE, VERSION

from .context import services
from .http import json_response
from .routing import Route


async def version(request: web.Request) -> web.Response:
    return json_response(
        VersionOut(software=SOFTWARE, version=VERSION, api_versions=list(API_VERSIONS))
    )


async def health(request: web.Request) -> web.Response:
    h = await services(request).system.health()
    out = HealthOut(
        status="ok" if h.database else "unavailable",
        database="ok" if h.database else "unreachable",
        queue_depth=h.queue_depth,
    )
    return json_response(out, status=200 if h.database else 503)


async def metrics(request: web.Request) -> web.Response:
    stored = await services(request).system.metrics()
    traffic = request.app[TRAFFIC]
    return json_response(
        MetricsOut(
            uptime_seconds=round(traffic.uptime_seconds, 3),
            requests=dict(traffic.by_class),
            deliveries=stored.deliveries,
            paused_hosts=stored.paused_hosts,
            database_bytes=stored.database_bytes,
        )
    )


ROUTES = [
    Route(
        "GET",
        "/system/version",
        version,
        "Software, version and API versions",
        "System",
        response=VersionOut,
        auth=False,
    ),
    Route(
        "GET",
        "/system/health",
        health,
        "Database reachability and delivery queue depth",
        "System",
        response=HealthOut,
        auth=False,
        errors=(503,),
    ),
    Route(
        "GET",
        "/system/metrics",
        metrics,
        "Counts for monitoring: requests by status class, delivery queue, database size"
        " (aggregates only; the stored ones are at most 10 s old)",
        "System",
        response=MetricsOut,
        auth=False,
    ),
]
