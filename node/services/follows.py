"""Follows: requests, approval for locked identities, unfollow, lists; local and remote alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from node.clock import Clock, iso
from node.errors import not_found, validation
from node.ids import new_guid
from node.services.handles import check_reachable, find_identity
from node.services.notify import Notifier
from node.services.ports import Directory, Publisher
from node.services.principal import Principal
from node.store import follows as follow_store
from node.store import identities as identity_store
from node.store import shares as share_store
from node.store.db import Database, Tx
from node.store.follows import Follow
from node.store.identities import Identity
from node.store.paging import Page, PageRequest
from node.store.shares import Share


@dataclass(frozen=True)
class FollowView:
    follow: Follow
    target: Identity
    created: bool


class FollowService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        publisher: Publisher,
        directory: Directory,
        our_host: str,
    ) -> None:
        self._db = db
        self._clock = clock
        self._publisher = publisher
        self._directory = directory
        self._host = our_host
        self._notify = Notifier(clock)

    # --- every change of a follow goes through these, so its read grant follows it ---

    async def _insert(self, tx: Tx, follow: Follow) -> None:
        await follow_store.insert(tx, follow)
        kind = "follow" if follow.state == "accepted" else "follow.request"
        await self._notify(tx, follow.followee_guid, kind, follow.follower_guid, follow.guid)
        if follow.state == "accepted":
            await self._grant(tx, follow, follow.created_at)

    async def _accept(self, tx: Tx, follow: Follow, now: str) -> None:
        await follow_store.set_state(tx, follow.guid, "accepted", now)
        await self._notify.forget(tx, follow.guid)  # the request is answered
        await self._notify(
            tx, follow.follower_guid, "follow.accepted", follow.followee_guid, follow.guid
        )
        await self._grant(tx, follow, now)

    async def _drop(self, tx: Tx, follow: Follow) -> None:
        await self._notify.forget(tx, follow.guid)
        await follow_store.delete(tx, follow.guid)
        await share_store.delete_follow_grant(tx, follow.followee_guid, follow.follower_guid)

    async def _grant(self, tx: Tx, follow: Follow, now: str) -> None:
        """An accepted follow is a read-only share of the followee's followers-only content."""
        if await share_store.follow_grant(tx, follow.followee_guid, follow.follower_guid):
            return
        await share_store.insert(
            tx,
            Share(
                guid=new_guid(),
                owner_guid=follow.followee_guid,
                grantee_guid=follow.follower_guid,
                granted_by_guid=follow.followee_guid,
                parent_guid=None,
                kind="follow",
                scope="all",
                can_read=True,
                can_write=False,
                can_delete=False,
                can_share=False,
                expires_at=None,
                remote=False,
                ap_id=f"{follow.ap_id}#grant",
                items_uri=None,
                created_at=now,
                updated_at=now,
            ),
        )

    async def sever(self, tx: Tx, a: str, b: str) -> None:
        """End follows between two identities both ways (a block)."""
        for follower, followee in ((a, b), (b, a)):
            follow = await follow_store.between(tx, follower, followee)
            if follow is not None:
                await self._drop(tx, follow)

    async def follow(self, who: Principal, target: str) -> FollowView:
        followee = await find_identity(self._db, self._directory, self._host, target)
        if followee.guid == who.identity_guid:
            raise validation({"target": "you cannot follow yourself"})
        await check_reachable(self._db, self._publisher, followee)
        me = await identity_store.get(self._db, who.identity_guid)
        assert me is not None
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            existing = await follow_store.between(tx, me.guid, followee.guid)
            if existing:
                return FollowView(existing, followee, False)
            follow = await self._ask(tx, me, followee, now)
        return FollowView(follow, followee, True)

    async def _ask(self, tx: Tx, me: Identity, followee: Identity, now: str) -> Follow:
        guid = new_guid()
        # A local unlocked identity accepts at once; remote ones answer with Accept/Reject.
        state = "accepted" if followee.local and not followee.locked else "pending"
        follow = Follow(
            guid, me.guid, followee.guid, state, self._publisher.activity_id(guid), now, now
        )
        await self._insert(tx, follow)
        if not followee.local:
            await self._publisher.follow(tx, follow, me, followee)
        return follow

    async def moved(self, tx: Tx, old: Identity, new: Identity) -> None:
        """A remote account moved to `new` (remote too): as on Mastodon, each of ours who
        followed `old` stops, and asks to follow `new` unless it already does."""
        now = iso(self._clock.now())
        for follow in await follow_store.local_followers(tx, old.guid):
            me = await identity_store.get(tx, follow.follower_guid)
            assert me is not None
            await self._drop(tx, follow)
            await self._publisher.unfollow(tx, follow, me, old)
            if not await follow_store.between(tx, me.guid, new.guid):
                await self._ask(tx, me, new, now)

    async def lookup(self, handle: str) -> Identity:
        return await find_identity(self._db, self._directory, self._host, handle)

    async def unfollow(self, who: Principal, target_guid: str) -> None:
        async with self._db.transaction() as tx:
            follow = await follow_store.between(tx, who.identity_guid, target_guid)
            if follow is None:
                raise not_found("Follow")
            await self._drop(tx, follow)
            followee = await identity_store.get(tx, target_guid)
            me = await identity_store.get(tx, who.identity_guid)
            if followee and me and not followee.local:
                await self._publisher.unfollow(tx, follow, me, followee)

    async def requests(
        self, who: Principal, page: PageRequest
    ) -> tuple[list[tuple[Follow, Identity]], Page]:
        return await follow_store.followers(self._db, who.identity_guid, page, state="pending")

    async def answer(self, who: Principal, follow_guid: str, accept: bool) -> Follow:
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            follow = await follow_store.get(tx, follow_guid)
            if (
                follow is None
                or follow.followee_guid != who.identity_guid
                or follow.state != "pending"
            ):
                raise not_found("Follow request")
            follower = await identity_store.get(tx, follow.follower_guid)
            me = await identity_store.get(tx, who.identity_guid)
            assert follower is not None and me is not None
            await self._answer(tx, follow, follower, me, accept, now)
        return Follow(**{**follow.__dict__, "state": "accepted" if accept else "rejected"})

    async def _answer(
        self, tx: Tx, follow: Follow, follower: Identity, me: Identity, accept: bool, now: str
    ) -> None:
        if accept:
            await self._accept(tx, follow, now)
        else:
            await self._drop(tx, follow)
        if not follower.local:
            await self._publisher.follow_answered(tx, follow, follower, me, accept)

    async def approve_all(self, tx: Tx, me: Identity) -> None:
        """An identity no longer locked takes the requests waiting for it, as Mastodon does:
        nobody would approve them by hand any more, and new ones are accepted at once."""
        now = iso(self._clock.now())
        for follow, follower in await follow_store.pending_to(tx, me.guid):
            await self._answer(tx, follow, follower, me, True, now)

    async def remove_follower(self, who: Principal, follower_guid: str) -> None:
        """Stop someone following me (a soft block): they are told with a Reject."""
        async with self._db.transaction() as tx:
            follow = await follow_store.between(tx, follower_guid, who.identity_guid)
            if follow is None:
                raise not_found("Follower")
            await self._drop(tx, follow)
            follower = await identity_store.get(tx, follower_guid)
            me = await identity_store.get(tx, who.identity_guid)
            if follower and me and not follower.local:
                await self._publisher.follow_answered(tx, follow, follower, me, False)

    async def followers(
        self, identity_guid: str, page: PageRequest
    ) -> tuple[list[tuple[Follow, Identity]], Page]:
        return await follow_store.followers(self._db, identity_guid, page)

    async def following(
        self, identity_guid: str, page: PageRequest
    ) -> tuple[list[tuple[Follow, Identity]], Page]:
        return await follow_store.following(self._db, identity_guid, page)

    # --- what remote pods tell us (called by the inbox inside its transaction) ---

    async def remote_follow(
        self, tx: Tx, follower: Identity, followee: Identity, ap_id: str
    ) -> Follow:
        now = iso(self._clock.now())
        existing = await follow_store.between(tx, follower.guid, followee.guid)
        if existing:
            if existing.ap_id != ap_id and not await follow_store.by_ap_id(tx, ap_id):
                # A repeated Follow (e.g. after they lost state) has a new id, and the answer
                # must name it: pods that match an Accept by its Follow's id (GoToSocial)
                # would otherwise wait for it forever.
                await follow_store.set_ap_id(tx, existing.guid, ap_id, now)
                existing = dataclasses.replace(existing, ap_id=ap_id, updated_at=now)
            if existing.state == "accepted":  # the same answer again
                await self._publisher.follow_answered(tx, existing, follower, followee, True)
            return existing
        state = "pending" if followee.locked else "accepted"
        follow = Follow(new_guid(), follower.guid, followee.guid, state, ap_id, now, now)
        await self._insert(tx, follow)
        if state == "accepted":
            await self._publisher.follow_answered(tx, follow, follower, followee, True)
        return follow

    async def remote_answer(self, tx: Tx, follow: Follow, accepted: bool) -> None:
        if accepted:
            await self._accept(tx, follow, iso(self._clock.now()))
        else:
            await self._drop(tx, follow)

    async def remote_unfollow(self, tx: Tx, follow: Follow) -> None:
        await self._drop(tx, follow)
