"""Notifying local identities of what others did: one function per event, each writing in the
caller's transaction, so a notification exists exactly when its cause does."""

from __future__ import annotations

from node.clock import Clock, iso
from node.store import notifications as notification_store
from node.store.db import Tx


class Notifier:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, tx: Tx, recipient: str, kind: str, actor: str, subject: str | None, **detail: object
    ) -> None:
        """Notify `recipient` if it is one of ours and not the one who acted."""
        if recipient == actor:
            return
        local = await tx.fetchval(
            "SELECT 1 FROM identities WHERE guid = ? AND domain IS NULL", (recipient,)
        )
        if local:
            await notification_store.add(
                tx, recipient, kind, actor, subject, iso(self._clock.now()), **detail
            )

    async def forget(self, tx: Tx, subject: str) -> None:
        """The cause is gone (a deleted comment, an undone like): so is its notification."""
        await notification_store.remove_for_subject(tx, subject)

    async def forget_unmentioned(self, tx: Tx, post_guid: str) -> None:
        """An edit dropped mentions: those it no longer names are no longer told of it."""
        await notification_store.remove_unmentioned(tx, post_guid)

    async def forget_from(self, tx: Tx, actor_guid: str) -> None:
        """An account that is gone: nothing it did is told any more."""
        await notification_store.remove_from(tx, actor_guid)

    async def forget_posts(self, tx: Tx, where: str, param: str) -> None:
        """`forget_post` for every post `where` holds (node.store.posts), in one statement."""
        await notification_store.remove_for_posts(tx, where, param)

    async def forget_post(self, tx: Tx, post_guid: str) -> None:
        """A deleted post: its own notifications (mentions, a comment's) and those of the
        likes, reshares and reactions that go with it."""
        rows = await tx.fetchall(
            "SELECT guid FROM interactions WHERE post_guid = ?"
            " UNION ALL SELECT guid FROM reactions WHERE post_guid = ?",
            (post_guid, post_guid),
        )
        for subject in (post_guid, *(r[0] for r in rows)):
            await notification_store.remove_for_subject(tx, subject)
