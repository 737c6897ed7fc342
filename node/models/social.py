"""Follows and posts on the wire."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from node.models.accounts import IdentityOut
from node.models.base import ApiInput, ApiModel
from node.models.media import AttachmentOut


class FollowIn(ApiInput):
    target: str = Field(max_length=300, description="A GUID, `name`, or `name@host`")


class FollowOut(ApiModel):
    id: str
    state: Literal["pending", "accepted", "rejected"]
    identity: IdentityOut = Field(description="The other side: who is followed, or who follows")
    created_at: str


class PostIn(ApiInput):
    body: str = Field(max_length=20_000)
    visibility: Literal["public", "followers", "direct"] = "public"
    recipients: list[str] = Field(default_factory=list, max_length=50)
    in_reply_to: str | None = Field(None, max_length=32)
    label_ids: list[str] = Field(default_factory=list, max_length=50)
    attachment_ids: list[str] = Field(
        default_factory=list, max_length=4, description="Your own ready media, in order"
    )


class PostPatch(ApiInput):
    body: str | None = Field(None, max_length=20_000)
    label_ids: list[str] | None = Field(None, max_length=50)


class PostCounts(ApiModel):
    likes: int
    reshares: int
    comments: int


class PostOut(ApiModel):
    id: str
    uri: str
    author: IdentityOut
    body: str
    html: str
    visibility: str
    local: bool
    in_reply_to: str | None
    created_at: str
    updated_at: str
    counts: PostCounts
    liked: bool
    reshared: bool
    label_ids: list[str] = Field(description="The author's private labels; empty for others")
    attachments: list[AttachmentOut]
