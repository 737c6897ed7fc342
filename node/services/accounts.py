"""Accounts: registration, password and email changes, deletion, the changelog."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from node.clock import Clock, iso
from node.config import NodeConfig
from node.errors import ApiError, conflict, forbidden, not_found, validation
from node.ids import new_guid
from node.services.handles import name_taken
from node.services.passwords import PasswordGate, Passwords
from node.services.ports import Publisher
from node.services.rules import (
    check,
    days_problem,
    email_problem,
    invite_uses_problem,
    password_problem,
    username_problem,
)
from node.services.sharing import ShareEnding
from node.services.spaces import keep_an_admin
from node.store import accounts as account_store
from node.store import identities as identity_store
from node.store import sessions as session_store
from node.store import spaces as space_store
from node.store.accounts import Account, AccountEvent
from node.store.db import Database
from node.store.identities import Identity
from node.store.paging import Page, PageRequest


@dataclass(frozen=True)
class Registration:
    account: Account
    identity: Identity


class AccountService:
    def __init__(
        self,
        db: Database,
        config: NodeConfig,
        clock: Clock,
        passwords: Passwords,
        gate: PasswordGate,
        publisher: Publisher,
    ) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self._passwords = passwords
        self._gate = gate
        self._publisher = publisher
        self._shares = ShareEnding(clock, publisher)

    async def register(
        self,
        username: str,
        email: str,
        password: str,
        *,
        invite_code: str | None = None,
        by_operator: bool = False,
    ) -> Registration:
        mode = "open" if by_operator else self._config.instance.registration
        if mode == "closed":
            raise forbidden("Registration on this pod is closed.", "registration_closed")
        if mode == "invite" and not invite_code:
            raise forbidden("Registration on this pod needs an invite code.", "invite_required")
        check(
            username=username_problem(username),
            email=email_problem(email),
            password=password_problem(password),
        )
        password_hash = await self._passwords.hash(password)
        now = iso(self._clock.now())
        account_guid, identity_guid = new_guid(), new_guid()
        account = Account(account_guid, email, password_hash, identity_guid, now, now, now)
        identity = Identity(
            guid=identity_guid,
            account_guid=account_guid,
            username=username,
            domain=None,
            display_name=username,
            bio="",
            created_at=now,
            updated_at=now,
        )
        async with self._db.transaction() as tx:
            # The invite first: without one, nobody learns which emails have accounts here.
            # Its use is undone with the rest if a check below refuses.
            if mode == "invite" and not await account_store.use_invite(tx, invite_code or "", now):
                raise forbidden("The invite code is unknown, used up or expired.", "invite_invalid")
            if await account_store.email_taken(tx, email):
                raise conflict("An account with this email exists.", "email_taken")
            if await name_taken(tx, username):
                raise conflict("This username is taken.", "username_taken")
            await account_store.insert(tx, account)
            await identity_store.insert(tx, identity)
            await account_store.add_event(tx, account_guid, "account.created", now)
            await account_store.add_event(
                tx, account_guid, "identity.added", now, identity=identity_guid, username=username
            )
        return Registration(account, identity)

    async def create_invite(self, max_uses: int, days: float | None) -> str:
        """A code good for `max_uses` registrations within `days` (None: with no end)."""
        check(max_uses=invite_uses_problem(max_uses), days=days_problem(days))
        now = self._clock.now()
        code = secrets.token_urlsafe(12)
        expires = iso(now + timedelta(days=days)) if days is not None else None
        async with self._db.transaction() as tx:
            await account_store.insert_invite(tx, code, max_uses, expires, iso(now))
        return code

    async def get(self, account_guid: str) -> Account:
        account = await account_store.get(self._db, account_guid)
        if account is None:  # deleted while the token was in flight
            raise ApiError(401, "not_authenticated", "The account no longer exists.")
        return account

    async def update(
        self,
        account_guid: str,
        current_password: str,
        email: str | None = None,
        new_password: str | None = None,
        session_guid: str | None = None,
        *,
        remote: str,
    ) -> Account:
        """Change the email or password. A new password ends every other login session (the
        old one may be known to someone else); app tokens, issued by the operator, stay."""
        account = await self.get(account_guid)
        # Throttled as logins are: a stolen token must not make a password oracle.
        if not await self._gate.check(account, current_password, remote):
            raise forbidden("The current password is wrong.", "wrong_password")
        problems: dict[str, str] = {}
        if email is not None and (p := email_problem(email)):
            problems["email"] = p
        if new_password is not None and (p := password_problem(new_password)):
            problems["password"] = p
        if problems:
            raise validation(problems)
        values: dict[str, str] = {}
        if new_password is not None:
            values["password_hash"] = await self._passwords.hash(new_password)
        if email is not None:
            values["email"] = email
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if email is not None and await account_store.email_taken(tx, email, account_guid):
                raise conflict("An account with this email exists.", "email_taken")
            if values:
                await account_store.update(tx, account_guid, now, **values)
            if new_password is not None:
                ended = await session_store.end_other_logins(tx, account_guid, session_guid)
                await account_store.add_event(
                    tx, account_guid, "account.password_changed", now, sessions_ended=ended
                )
            if email is not None:
                await account_store.add_event(tx, account_guid, "account.email_changed", now)
        return await self.get(account_guid)

    async def reset_password(self, account_guid: str, new_password: str) -> int:
        """The operator sets a new password (its owner lost it, or someone else knows it):
        every login session ends, as after a change; app tokens, the operator's, stay. How
        many sessions ended."""
        if problem := password_problem(new_password):
            raise validation({"password": problem})
        password_hash = await self._passwords.hash(new_password)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if await account_store.get(tx, account_guid) is None:
                raise not_found("Account")
            await account_store.update(tx, account_guid, now, password_hash=password_hash)
            ended = await session_store.end_other_logins(tx, account_guid, None)
            await account_store.add_event(
                tx, account_guid, "account.password_reset", now, sessions_ended=ended
            )
        return ended

    async def delete(self, account_guid: str, password: str, remote: str) -> None:
        account = await self.get(account_guid)
        if not await self._gate.check(account, password, remote):
            raise forbidden("The password is wrong.", "wrong_password")
        async with self._db.transaction() as tx:
            # Its identities leave every space, by the rule of leaving one: a space they alone
            # administer is refused, even with no other member. Deleting a space is its own
            # request (which tells its remote members); it is never a side effect here.
            mine = await identity_store.guids_for_account(tx, account_guid)
            await keep_an_admin(tx, await space_store.administered_by(tx, mine), mine)
            # Re-shares its identities made of others' items end with them, told to grantees.
            await self._shares.identities_leaving(tx, mine)
            # Other pods hear of it while the follows, memberships and shares that say who
            # they are still exist; the names are never given out again.
            for ident in (await identity_store.get_many(tx, mine)).values():
                await self._publisher.identity_deleted(tx, ident)
            await identity_store.retire_names(tx, mine, iso(self._clock.now()))
            await account_store.delete(tx, account_guid)

    async def changelog(
        self, account_guid: str, page: PageRequest
    ) -> tuple[list[AccountEvent], Page]:
        return await account_store.events(self._db, account_guid, page)
