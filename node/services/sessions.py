"""Sessions: log in with a password, authenticate bearer tokens, list and revoke, app tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from node.clock import Clock, iso
from node.config import NodeConfig
from node.errors import ApiError, not_found, unauthorized
from node.ids import new_guid
from node.services.passwords import PasswordGate
from node.services.principal import SCOPES, Principal
from node.services.rules import check, days_problem, scopes_problem
from node.store import accounts as account_store
from node.store import identities as identity_store
from node.store import sessions as session_store
from node.store.db import Database
from node.store.paging import Page, PageRequest
from node.store.sessions import Session

# last_seen_at is written at most this often per session, to keep reads free of writes.
TOUCH_EVERY = timedelta(seconds=60)
MAX_USER_AGENT = 512


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, db: Database, config: NodeConfig, clock: Clock, gate: PasswordGate) -> None:
        self._db = db
        self._clock = clock
        self._gate = gate
        self._lifetime = timedelta(days=config.auth.session_days)

    async def login(
        self, login: str, password: str, user_agent: str, remote: str
    ) -> tuple[str, Session]:
        account = await account_store.find_by_login(self._db, login)
        if not await self._gate.check(account, password, remote, login) or account is None:
            raise ApiError(401, "invalid_credentials", "The login or the password is wrong.")
        identity_guid = account.primary_identity_guid
        assert identity_guid is not None
        return await self._issue(
            account.guid, identity_guid, "login", "", frozenset(SCOPES), user_agent, self._lifetime
        )

    async def create_app_token(
        self,
        account_guid: str,
        identity_guid: str,
        name: str,
        scopes: frozenset[str],
        days: float | None,
    ) -> tuple[str, Session]:
        """A token holding `scopes` that expires after `days` (None: never)."""
        check(scopes=scopes_problem(scopes), days=days_problem(days))
        lifetime = timedelta(days=days) if days is not None else None
        return await self._issue(account_guid, identity_guid, "app", name, scopes, "", lifetime)

    async def _issue(
        self,
        account_guid: str,
        identity_guid: str,
        kind: str,
        name: str,
        scopes: frozenset[str],
        user_agent: str,
        lifetime: timedelta | None,
    ) -> tuple[str, Session]:
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        session = Session(
            guid=new_guid(),
            account_guid=account_guid,
            identity_guid=identity_guid,
            kind=kind,
            name=name,
            scopes=scopes,
            user_agent=user_agent[:MAX_USER_AGENT],
            created_at=iso(now),
            last_seen_at=iso(now),
            expires_at=iso(now + lifetime) if lifetime else None,
        )
        async with self._db.transaction() as tx:
            await session_store.insert(tx, session, hash_token(token))
            await account_store.touch_active(tx, account_guid, iso(now))
            event = "session.created" if kind == "login" else "token.created"
            await account_store.add_event(tx, account_guid, event, iso(now), session=session.guid)
        return token, session

    async def authenticate(self, token: str, user_agent: str) -> Principal:
        session = await session_store.by_token_hash(self._db.inline, hash_token(token))
        now = self._clock.now()
        if session is None:
            raise unauthorized("The token is unknown or revoked.")
        # Stored times are iso() text, which sorts as time.
        if session.expires_at and session.expires_at <= iso(now):
            raise unauthorized("The token has expired.")
        if session.last_seen_at <= iso(now - TOUCH_EVERY):
            async with self._db.transaction() as tx:
                await session_store.touch(tx, session.guid, iso(now), user_agent[:MAX_USER_AGENT])
                await account_store.touch_active(tx, session.account_guid, iso(now))
        return Principal(
            account_guid=session.account_guid,
            identity_guid=session.identity_guid,
            session_guid=session.guid,
            scopes=session.scopes,
            first_party=session.kind == "login",
        )

    async def get(self, who: Principal, guid: str) -> Session:
        session = await session_store.get(self._db, who.account_guid, guid)
        if session is None:
            raise not_found("Session")
        return session

    async def list(self, who: Principal, page: PageRequest) -> tuple[list[Session], Page]:
        return await session_store.list_for_account(self._db, who.account_guid, page)

    async def revoke(self, who: Principal, guid: str) -> None:
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if not await session_store.delete(tx, who.account_guid, guid):
                raise not_found("Session")
            await account_store.add_event(
                tx, who.account_guid, "session.revoked", now, session=guid
            )

    async def switch_identity(self, who: Principal, identity_guid: str) -> Session:
        ident = await identity_store.get(self._db, identity_guid)
        if ident is None or ident.account_guid != who.account_guid:
            raise not_found("Identity")
        async with self._db.transaction() as tx:
            await session_store.set_identity(tx, who.session_guid, identity_guid)
        return await self.get(who, who.session_guid)
