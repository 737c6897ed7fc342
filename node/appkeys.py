"""Typed keys for what the app shares with its handlers; set only in create_app."""

from __future__ import annotations

from aiohttp import web

from node.api.post_cache import PostJsonCache
from node.api.traffic import Traffic
from node.clock import Clock
from node.config import NodeConfig
from node.services.media_worker import MediaWorker
from node.services.registry import Services
from node.store.db import Database

CONFIG = web.AppKey("config", NodeConfig)
CLOCK = web.AppKey("clock", Clock)
DB = web.AppKey("db", Database)
SERVICES = web.AppKey("services", Services)
POST_JSON = web.AppKey("post_json", PostJsonCache)
MEDIA_WORKER = web.AppKey("media_worker", MediaWorker)
TRAFFIC = web.AppKey("traffic", Traffic)
