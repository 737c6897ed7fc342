"""Labels, shares and notifications on the wire. Share fields keep the seed's snake_case names
on input (camelCase is accepted too)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from node.models.accounts import IdentityOut
from node.models.base import ApiInput, ApiModel


class LabelIn(ApiInput):
    name: str = Field(max_length=50)
    color: str = Field("", max_length=7)


class LabelPatch(ApiInput):
    name: str | None = Field(None, max_length=50)
    color: str | None = Field(None, max_length=7)


class LabelOut(ApiModel):
    id: str
    name: str
    color: str
    created_at: str
    updated_at: str


class ShareIn(ApiInput):
    shared_with: str = Field(max_length=300, description="Identity GUID or name@host")
    scope: str = Field(max_length=20, description="all | specific_tags | specific_items")
    tag_ids: list[str] = Field(default_factory=list, max_length=200)
    item_ids: list[str] = Field(default_factory=list, max_length=200)
    can_read: bool = True
    can_write: bool = False
    can_delete: bool = False
    can_share: bool = False
    expires_at: str | None = Field(None, max_length=40)
    parent_id: str | None = Field(None, max_length=32, description="Re-share within this share")


class SharePut(ApiInput):
    scope: str | None = Field(None, max_length=20)
    tag_ids: list[str] | None = Field(None, max_length=200)
    item_ids: list[str] | None = Field(None, max_length=200)
    can_read: bool | None = None
    can_write: bool | None = None
    can_delete: bool | None = None
    can_share: bool | None = None
    expires_at: str | None = Field(None, max_length=40)


class ShareLabel(ApiModel):
    id: str
    name: str


class ShareOut(ApiModel):
    id: str
    owner: IdentityOut
    shared_with: IdentityOut
    granted_by: IdentityOut
    parent_id: str | None
    scope: str
    tags: list[ShareLabel]
    item_ids: list[str]
    can_read: bool
    can_write: bool
    can_delete: bool
    can_share: bool
    expires_at: str | None
    expired: bool
    remote: bool
    created_at: str
    updated_at: str


class SharedItemOut(ApiModel):
    """An item read through a share: a local post or one fetched from its owner's pod."""

    id: str
    uri: str
    body: str
    html: str
    author: str
    created_at: str | None
    updated_at: str | None


class SharedItemPatch(ApiInput):
    body: str = Field(max_length=20_000)


class NotificationOut(ApiModel):
    id: str
    kind: str
    actor: IdentityOut | None
    subject_id: str | None
    detail: dict[str, Any]
    created_at: str
    read: bool


class BadgeOut(ApiModel):
    unread: int


class MarkedOut(ApiModel):
    marked: int
