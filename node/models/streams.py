"""Reactions, bookmarks and followed hashtags on the wire."""

from __future__ import annotations

from pydantic import Field

from node.models.base import ApiInput, ApiModel


class ReactionIn(ApiInput):
    emoji: str = Field(max_length=32)


class TagIn(ApiInput):
    name: str = Field(max_length=101)


class TagFollowingOut(ApiModel):
    name: str
    created_at: str
