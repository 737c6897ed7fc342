"""create_app(config): the one place that wires a pod together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from federation.webfinger import setup as setup_webfinger
from node.api import all_routes
from node.api.docs import setup as setup_docs
from node.api.middleware import error_middleware, json_only_middleware
from node.api.routing import install
from node.appkeys import CLOCK, CONFIG, DB, SERVICES
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.services.registry import build_services
from node.store.db import Database
from node.store.migrate import migrate
from nodeinfo.routes import setup as setup_nodeinfo

log = logging.getLogger("hearth")


def create_app(config: NodeConfig, clock: Clock | None = None) -> web.Application:
    clock = clock or SystemClock()
    app = web.Application(
        middlewares=[error_middleware, json_only_middleware],
        client_max_size=config.server.max_body_bytes,
    )
    db = Database(config.database_path)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[DB] = db
    app[SERVICES] = build_services(db, config, clock)

    async def database(app: web.Application) -> AsyncIterator[None]:
        config.storage.data_dir.mkdir(parents=True, exist_ok=True)
        await db.open()
        applied = await migrate(db)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        yield
        await db.close()

    app.cleanup_ctx.append(database)
    install(app, all_routes())
    setup_docs(app)  # /api/v1/openapi.json and /api/docs, from the same route table
    setup_nodeinfo(app)
    setup_webfinger(app)
    return app
