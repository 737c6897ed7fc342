"""What the inbox and its activity handlers work with, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from federation.actors import ActorDirectory
from federation.blocks import DomainBlocks
from federation.client import FederationClient
from federation.delivery import DeliveryWorker
from federation.followed import FollowedAuthors
from federation.history import DeliveryHistory
from federation.keys import LocalKeys, PublicKeyCache
from federation.outbox import Outbox
from federation.seen import SeenIds
from federation.urls import Urls
from node.clock import Clock
from node.config import NodeConfig
from node.services.registry import Services
from node.store.db import Database


@dataclass(frozen=True)
class Federation:
    config: NodeConfig
    db: Database
    clock: Clock
    urls: Urls
    keys: LocalKeys
    public_keys: PublicKeyCache
    client: FederationClient
    directory: ActorDirectory
    outbox: Outbox
    worker: DeliveryWorker
    services: Services
    blocks: DomainBlocks  # refused both ways: nothing accepted from them, nothing sent
    seen: SeenIds  # the inbox's memory of activity ids, pruned to its configured age
    history: DeliveryHistory  # finished deliveries, pruned to their configured age
    followed: FollowedAuthors  # remote authors lately read as followed (the inbox's reads)

    def is_blocked(self, where: str) -> bool:
        """Whether a URL or a host[:port] is on a blocked domain."""
        return self.blocks.is_blocked(where)
