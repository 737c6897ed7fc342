"""create_app(config): the one place that wires a pod together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from federation import routes as federation_routes
from federation.actors import ActorDirectory
from federation.block_reload import BlockReloader
from federation.blocks import DomainBlocks
from federation.client import FederationClient
from federation.context import Federation
from federation.delivery import PROBE_EVERY_SECONDS, DeliveryWorker
from federation.followed import FollowedAuthors
from federation.history import DeliveryHistory
from federation.keys import LocalKeys, PublicKeyCache
from federation.outbox import Outbox
from federation.refetch import FailedFetches, RefetchLimit
from federation.seen import SeenIds
from federation.shared_items import RemoteSharedItems
from federation.urls import Urls
from federation.webfinger import setup as setup_webfinger
from node.api import all_routes
from node.api.docs import setup as setup_docs
from node.api.middleware import error_middleware, json_only_middleware
from node.api.post_cache import PostJsonCache
from node.api.routing import install
from node.api.spread import ConnectionSpread
from node.api.traffic import Traffic
from node.appkeys import CLOCK, CONFIG, DB, MEDIA_WORKER, POST_JSON, SERVICES, TRAFFIC
from node.background import Periodic
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.media import routes as media_routes
from node.services.media_worker import MediaWorker
from node.services.registry import build_services
from node.store.db import Database, make_data_dir
from node.store.migrate import migrate
from node.workers import DELIVERIES, MEDIA, WorkerRole
from nodeinfo.routes import setup as setup_nodeinfo

log = logging.getLogger("hearth")


def create_app(
    config: NodeConfig,
    clock: Clock | None = None,
    role: WorkerRole | None = None,
    traffic: Traffic | None = None,
) -> web.Application:
    """The pod, or with `role` one of the processes of a pod (see node/workers.py)."""
    clock = clock or SystemClock()
    role = role or WorkerRole()
    traffic = traffic or Traffic()
    app = web.Application(
        middlewares=[error_middleware(traffic), json_only_middleware],
        client_max_size=config.server.max_body_bytes,
    )
    db = Database(config.database_path, readers=config.storage.readers, turn=role.turn())
    urls = Urls(config.server.public_url)
    keys = LocalKeys(db, clock)
    blocks = DomainBlocks(config.federation.blocked_domains)
    block_reloader = BlockReloader(db, blocks, config.federation.blocks_reload_seconds)
    client = FederationClient(
        config.federation, urls, keys, clock, config.server.public_url, blocks.is_blocked
    )
    refetch_interval = timedelta(seconds=config.federation.key_refetch_interval_seconds)
    directory = ActorDirectory(
        db, client, urls, clock, try_http=config.federation.allow_private_addresses,
        refetches=RefetchLimit(refetch_interval), failures=FailedFetches(refetch_interval),
        fetch_timeout=config.federation.fetch_timeout_seconds, key_changes=role.actor_keys,
    )  # fmt: skip
    worker = DeliveryWorker(
        db, client, clock, config.federation, blocks.is_blocked,
        paused_changes=role.paused_hosts, key_changes=role.actor_keys,
    )  # fmt: skip
    paused_probe = Periodic(worker.probe_paused, PROBE_EVERY_SECONDS, "hearth-paused-probe", log)
    outbox = Outbox(urls, clock, worker.wake, blocks.is_blocked)
    shared_items = RemoteSharedItems(db, client, urls, clock)
    services = build_services(db, config, clock, outbox, directory, shared_items)
    fed = Federation(
        config, db, clock, urls, keys, PublicKeyCache(), client, directory, outbox, worker,
        services, blocks, SeenIds(db, clock, timedelta(hours=config.federation.inbox_seen_hours)),
        DeliveryHistory(db, clock, timedelta(days=config.federation.delivery_history_days)),
        FollowedAuthors(clock),
    )  # fmt: skip

    app[CONFIG] = config
    app[CLOCK] = clock
    app[DB] = db
    app[SERVICES] = services
    app[POST_JSON] = PostJsonCache(config.cache.post_json_entries)
    app[TRAFFIC] = traffic
    if role.shared and role.connections is not None:
        spread = ConnectionSpread(role.connections, role.index)
        app.on_response_prepare.append(spread.on_response_prepare)

    async def database(app: web.Application) -> AsyncIterator[None]:
        make_data_dir(config.storage.data_dir)
        await db.open()
        try:
            applied = await migrate(db)
        except BaseException:
            # A context that fails to start is not cleaned up, and the database's reader
            # threads would keep the process from exiting.
            await db.close()
            raise
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        yield
        await db.close()

    wakes = role.wakes

    async def federation(app: web.Application) -> AsyncIterator[None]:
        await block_reloader.reload()
        block_reloader.start()
        await client.start()
        if role.primary:
            await worker.start()  # resumes whatever the queue holds from before a restart
            fed.seen.start()
            fed.history.start()
            paused_probe.start()
        else:
            assert wakes is not None, "a pod's other processes need the wake channel"
            await worker.follow(lambda: wakes.send(DELIVERIES))
        yield
        await fed.seen.stop()
        await fed.history.stop()
        await paused_probe.stop()
        await worker.stop()
        await client.close()
        await block_reloader.stop()

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(federation)

    media_worker = MediaWorker(services.media, config.media.gc_interval_minutes * 60)
    app[MEDIA_WORKER] = media_worker

    async def media(app: web.Application) -> AsyncIterator[None]:
        await services.media.start(recover=role.primary)
        if role.primary:
            media_worker.start()  # redoes uploads left 'processing' by a restart
        else:
            assert wakes is not None
            services.media.forward_work(lambda: wakes.send(MEDIA))
        yield
        await media_worker.stop()

    app.cleanup_ctx.append(media)

    if role.primary and wakes is not None:

        async def listen(app: web.Application) -> AsyncIterator[None]:
            stop = wakes.listen({DELIVERIES: worker.wake, MEDIA: services.media.wake})
            yield
            stop()

        app.cleanup_ctx.append(listen)
    install(app, all_routes())
    setup_docs(app)  # /api/v1/openapi.json and /api/docs, from the same route table
    setup_nodeinfo(app)
    setup_webfinger(app)
    federation_routes.setup(app, fed)
    media_routes.setup(app)  # /media/uploads/{id} (PUT) and /media/{hash}.{ext}
    return app
