"""Accounts, identities and sessions on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from node.models.base import ApiInput, ApiModel
from node.store.accounts import Account, AccountEvent
from node.store.identities import Identity
from node.store.sessions import Session


class ProfileField(ApiInput):
    name: str = Field(max_length=255)
    value: str = Field(max_length=255)


class RegisterIn(ApiInput):
    username: str = Field(max_length=30)
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    invite_code: str | None = Field(None, max_length=100)


class AccountPatch(ApiInput):
    current_password: str = Field(max_length=1024)
    email: str | None = Field(None, max_length=254)
    password: str | None = Field(None, max_length=1024)


class AccountDelete(ApiInput):
    password: str = Field(max_length=1024)


class AccountOut(ApiModel):
    id: str
    email: str
    primary_identity_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.guid,
            email=a.email,
            primary_identity_id=a.primary_identity_guid,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AccountEventOut(ApiModel):
    id: str
    kind: str
    detail: dict[str, Any]
    created_at: str

    @classmethod
    def of(cls, e: AccountEvent) -> AccountEventOut:
        return cls(id=e.guid, kind=e.kind, detail=e.detail, created_at=e.created_at)


class FieldOut(ApiModel):
    name: str
    value: str


class IdentityOut(ApiModel):
    id: str
    username: str
    domain: str
    handle: str
    display_name: str
    bio: str
    fields: list[FieldOut]
    locked: bool
    discoverable: bool
    local: bool
    url: str
    created_at: str
    updated_at: str
    avatar_url: str | None = None
    moved_to: str | None = None  # the id of the identity this (remote) account moved to

    @classmethod
    def of(
        cls,
        i: Identity,
        host: str,
        base_url: str,
        actor_url: str | None = None,
        avatar_url: str | None = None,
    ) -> IdentityOut:
        domain = i.domain or host
        return cls(
            id=i.guid,
            username=i.username,
            domain=domain,
            handle=f"{i.username}@{domain}",
            display_name=i.display_name,
            bio=i.bio,
            fields=[FieldOut(name=f["name"], value=f["value"]) for f in i.fields],
            locked=i.locked,
            discoverable=i.discoverable,
            local=i.local,
            url=actor_url or i.uri or f"{base_url}/users/{i.username}",
            created_at=i.created_at,
            updated_at=i.updated_at,
            avatar_url=avatar_url,
            moved_to=i.moved_to,
        )


class RegistrationOut(ApiModel):
    account: AccountOut
    identity: IdentityOut


class IdentityCreate(ApiInput):
    username: str = Field(max_length=30)
    display_name: str | None = Field(None, max_length=100)
    bio: str = Field("", max_length=2000)
    locked: bool = False
    discoverable: bool = True


class IdentityPatch(ApiInput):
    display_name: str | None = Field(None, max_length=100)
    bio: str | None = Field(None, max_length=2000)
    fields: list[ProfileField] | None = Field(None, max_length=4)
    locked: bool | None = None
    discoverable: bool | None = None
    avatar_id: str | None = Field(
        None, max_length=32, description="One of your own ready media; null removes the avatar"
    )


class LoginIn(ApiInput):
    username: str | None = Field(None, max_length=254)
    email: str | None = Field(None, max_length=254)
    password: str = Field(max_length=1024)


class SessionOut(ApiModel):
    id: str
    kind: str
    name: str
    identity_id: str
    scopes: list[str]
    user_agent: str
    created_at: str
    last_seen_at: str
    expires_at: str | None
    current: bool

    @classmethod
    def of(cls, s: Session, current_guid: str) -> SessionOut:
        return cls(
            id=s.guid,
            kind=s.kind,
            name=s.name,
            identity_id=s.identity_guid,
            scopes=sorted(s.scopes),
            user_agent=s.user_agent,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            current=s.guid == current_guid,
        )


class LoginOut(ApiModel):
    token: str
    session: SessionOut


class SessionPatch(ApiInput):
    identity_id: str = Field(max_length=32)
