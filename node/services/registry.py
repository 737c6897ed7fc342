"""The services of one pod, built together from its database, config and clock."""

from __future__ import annotations

from dataclasses import dataclass

from node.clock import Clock
from node.config import NodeConfig
from node.services.accounts import AccountService
from node.services.follows import FollowService
from node.services.identities import IdentityService
from node.services.operations import OperationsService
from node.services.passwords import Passwords
from node.services.ports import Directory, Publisher
from node.services.posts import PostService
from node.services.sessions import SessionService
from node.services.system import SystemService
from node.store.db import Database


@dataclass(frozen=True)
class Services:
    accounts: AccountService
    sessions: SessionService
    identities: IdentityService
    system: SystemService
    follows: FollowService
    posts: PostService
    operations: OperationsService


def build_services(
    db: Database, config: NodeConfig, clock: Clock, publisher: Publisher, directory: Directory
) -> Services:
    passwords = Passwords(config.auth.argon2_time_cost, config.auth.argon2_memory_kib)
    return Services(
        accounts=AccountService(db, config, clock, passwords),
        sessions=SessionService(db, config, clock, passwords),
        identities=IdentityService(db, clock),
        system=SystemService(db),
        follows=FollowService(db, clock, publisher, directory, config.host),
        posts=PostService(db, clock, publisher, directory, config.host),
        operations=OperationsService(db, clock),
    )
