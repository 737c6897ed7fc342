"""Notifications: listing with read state, the unread badge, marking read."""

from __future__ import annotations

from node.clock import Clock, iso
from node.errors import not_found
from node.services.principal import Principal
from node.store import notifications as notification_store
from node.store.db import Database
from node.store.notifications import Notification
from node.store.paging import Page, PageRequest


class NotificationService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def list(
        self, who: Principal, unread_only: bool, page: PageRequest
    ) -> tuple[list[Notification], Page]:
        return await notification_store.listing(
            self._db, who.identity_guid, unread_only, page, iso(self._clock.now())
        )

    async def badge(self, who: Principal) -> int:
        return await notification_store.unread(self._db, who.identity_guid, iso(self._clock.now()))

    async def mark_read(self, who: Principal, guid: str | None) -> int:
        # Taken before waiting for the writer: marking all read covers what was there when
        # asked, not what arrives while the request waits.
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            changed = await notification_store.mark_read(tx, who.identity_guid, guid, now)
        if guid is not None and changed == 0:
            raise not_found("Notification")
        return changed
