"""Identities of local accounts: create, read, update the profile."""

from __future__ import annotations

from typing import Any

from node.clock import Clock, iso
from node.errors import conflict, not_found, validation
from node.ids import is_guid, new_guid
from node.services.follows import FollowService
from node.services.handles import name_taken
from node.services.media import ready_media
from node.services.ports import Publisher
from node.services.principal import Principal
from node.services.rules import profile_problems, username_problem
from node.store import accounts as account_store
from node.store import identities as identity_store
from node.store import media as media_store
from node.store import remote_actors as actor_store
from node.store.db import Database
from node.store.identities import Identity
from node.store.paging import Page, PageRequest

MAX_IDENTITIES_PER_ACCOUNT = 20


class IdentityService:
    def __init__(
        self, db: Database, clock: Clock, publisher: Publisher, follows: FollowService
    ) -> None:
        self._db = db
        self._clock = clock
        self._publisher = publisher
        self._follows = follows

    async def create(
        self,
        who: Principal,
        username: str,
        display_name: str | None = None,
        bio: str = "",
        locked: bool = False,
        discoverable: bool = True,
    ) -> Identity:
        problems = profile_problems(display_name, bio, None)
        if p := username_problem(username):
            problems["username"] = p
        if problems:
            raise validation(problems)
        now = iso(self._clock.now())
        ident = Identity(
            guid=new_guid(),
            account_guid=who.account_guid,
            username=username,
            domain=None,
            display_name=display_name if display_name is not None else username,
            bio=bio,
            locked=locked,
            discoverable=discoverable,
            created_at=now,
            updated_at=now,
        )
        async with self._db.transaction() as tx:
            owned = await tx.fetchval(
                "SELECT count(*) FROM identities WHERE account_guid = ?", (who.account_guid,)
            )
            if owned >= MAX_IDENTITIES_PER_ACCOUNT:
                raise conflict(
                    f"An account holds at most {MAX_IDENTITIES_PER_ACCOUNT} identities.",
                    "too_many_identities",
                )
            if await name_taken(tx, username):
                raise conflict("This username is taken.", "username_taken")
            await identity_store.insert(tx, ident)
            await account_store.add_event(
                tx, who.account_guid, "identity.added", now, identity=ident.guid, username=username
            )
        return ident

    async def get(self, guid: str) -> Identity:
        """Any identity's public profile; unknown → 404."""
        ident = await self.known(guid)
        actor = await actor_store.by_identity(self._db, guid) if ident.domain else None
        if actor is not None and actor.gone_at is not None:
            raise not_found("Identity")  # a remote account that is gone, as its lookup
        return ident

    async def known(self, guid: str) -> Identity:
        """Any identity we hold, gone or not, as who did something here (a notification's
        actor, a follower): what it did is still shown while it is kept; unknown → 404."""
        ident = await identity_store.get(self._db, guid) if is_guid(guid) else None
        if ident is None:
            raise not_found("Identity")
        return ident

    async def current(self, who: Principal) -> Identity:
        return await self.get(who.identity_guid)

    async def mine(self, who: Principal, page: PageRequest) -> tuple[list[Identity], Page]:
        return await identity_store.list_for_account(self._db, who.account_guid, page)

    async def update(self, who: Principal, changes: dict[str, Any]) -> Identity:
        problems = profile_problems(
            changes.get("display_name"), changes.get("bio"), changes.get("fields")
        )
        if problems:
            raise validation(problems)
        changes = dict(changes)
        avatar_given = "avatar_id" in changes
        avatar = changes.pop("avatar_id", None)
        if changes or avatar_given:
            async with self._db.transaction() as tx:
                before = await identity_store.get(tx, who.identity_guid)
                assert before is not None
                if avatar_given:
                    if avatar is not None:  # only one's own ready media; others read as unknown
                        await ready_media(tx, who.identity_guid, [avatar], "avatarId")
                    await media_store.set_avatar(tx, who.identity_guid, avatar)
                await identity_store.update(tx, who.identity_guid, iso(self._clock.now()), changes)
                updated = await identity_store.get(tx, who.identity_guid)
                assert updated is not None
                await self._publisher.identity_updated(tx, updated)
                if before.locked and not updated.locked:
                    await self._follows.approve_all(tx, updated)
        return await self.current(who)
