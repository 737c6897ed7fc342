"""The services of one pod, built together from its database, config and clock."""

from __future__ import annotations

from dataclasses import dataclass

from node.clock import Clock
from node.config import NodeConfig
from node.services.access import Access
from node.services.accounts import AccountService
from node.services.follows import FollowService
from node.services.identities import IdentityService
from node.services.labels import LabelService
from node.services.media import MediaService, local_media_service
from node.services.notifications import NotificationService
from node.services.operations import OperationsService
from node.services.passwords import PasswordGate, Passwords
from node.services.ports import Directory, Publisher, SharedItems
from node.services.posts import PostService
from node.services.reactions import ReactionService
from node.services.sessions import SessionService
from node.services.sharing import SharedItemService, SharingService
from node.services.spaces import SpaceService
from node.services.streams import StreamService
from node.services.system import SystemService
from node.services.throttle import PasswordThrottle
from node.services.viewer_marks import ViewerMarksCache
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
    labels: LabelService
    sharing: SharingService
    notifications: NotificationService
    media: MediaService
    shared_items: SharedItemService
    reactions: ReactionService
    streams: StreamService
    spaces: SpaceService


def build_services(
    db: Database,
    config: NodeConfig,
    clock: Clock,
    publisher: Publisher,
    directory: Directory,
    shared_items: SharedItems,
) -> Services:
    access = Access(clock)
    marks = ViewerMarksCache(config.cache.viewer_marks_viewers, config.cache.viewer_marks_posts)
    posts = PostService(db, clock, access, publisher, directory, config.host, marks)
    passwords = Passwords(config.auth.argon2_time_cost, config.auth.argon2_memory_kib)
    follows = FollowService(db, clock, publisher, directory, config.host)
    gate = PasswordGate(passwords, PasswordThrottle.of(db, config.auth), clock)
    return Services(
        accounts=AccountService(db, config, clock, passwords, gate, publisher),
        sessions=SessionService(db, config, clock, gate),
        identities=IdentityService(db, clock, publisher, follows),
        system=SystemService(db, clock),
        follows=follows,
        posts=posts,
        operations=OperationsService(db, clock),
        labels=LabelService(db, clock),
        sharing=SharingService(db, clock, publisher, directory, config.host),
        notifications=NotificationService(db, clock),
        media=local_media_service(db, config, clock, publisher),
        shared_items=SharedItemService(db, clock, posts, shared_items),
        reactions=ReactionService(db, clock, access, publisher),
        streams=StreamService(db, clock, access, posts),
        spaces=SpaceService(db, clock, publisher, directory, follows, posts, config.host),
    )
