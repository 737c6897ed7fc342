"""Follows and posts on the wire."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from node.models.accounts import IdentityOut
from node.models.base import ApiInput, ApiModel
from node.models.media import AttachmentOut
from node.store.posts import MAX_CONTENT_WARNING

_WARNING = (
    "A content warning: plain text shown in place of the post until the reader opens it"
    " (Mastodon's spoiler text, ActivityPub's `summary`); empty for none"
)


class FollowIn(ApiInput):
    target: str = Field(max_length=300, description="A GUID, `name`, or `name@host`")


class FollowOut(ApiModel):
    id: str
    state: Literal["pending", "accepted", "rejected"]
    identity: IdentityOut = Field(description="The other side: who is followed, or who follows")
    created_at: str


class PostIn(ApiInput):
    body: str = Field(max_length=20_000)
    visibility: Literal["public", "followers", "direct", "space"] | None = Field(
        None,
        description="Public when not given, but a reply takes its post's, and may not be seen"
        " by more people than it (a direct reply goes to the thread's people unless `recipients`"
        " says otherwise). In a space the space decides: public, or `space` (members only)",
    )
    recipients: list[str] = Field(default_factory=list, max_length=50)
    in_reply_to: str | None = Field(None, max_length=32)
    label_ids: list[str] = Field(default_factory=list, max_length=50)
    attachment_ids: list[str] = Field(
        default_factory=list, max_length=4, description="Your own ready media, in order"
    )
    space_id: str | None = Field(None, max_length=32, description="Post in this space (members)")
    content_warning: str = Field(
        "", max_length=MAX_CONTENT_WARNING, description=f"{_WARNING}. Kept stripped"
    )
    sensitive: bool = Field(
        False, description="Mark the post and its media sensitive; always so with a warning"
    )


class PostPatch(ApiInput):
    body: str | None = Field(None, max_length=20_000)
    label_ids: list[str] | None = Field(None, max_length=50)
    content_warning: str | None = Field(
        None,
        max_length=MAX_CONTENT_WARNING,
        description=f"{_WARNING}. Kept stripped; unchanged when not given",
    )
    sensitive: bool | None = Field(
        None,
        description="Unchanged when neither it nor `contentWarning` is given; otherwise what is"
        " given (false when not given), and always true while there is a warning",
    )


class PostCounts(ApiModel):
    likes: int
    reshares: int
    comments: int
    reactions: int


class ReactionCount(ApiModel):
    emoji: str
    count: int


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
    reactions: list[ReactionCount]
    my_reaction: str | None
    bookmarked: bool
    tags: list[str]
    space_id: str | None = Field(None, description="The space it was posted in")
    content_warning: str = Field(description=_WARNING)
    sensitive: bool = Field(description="The post and its media are sensitive (hide media)")
