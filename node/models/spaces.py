"""Spaces, their invites, applications and members on the wire."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from node.models.accounts import IdentityOut
from node.models.base import ApiInput, ApiModel

Visibility = Literal["public", "private"]
JoinMode = Literal["instant", "application", "invite", "closed"]


class SpaceIn(ApiInput):
    display_name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    visibility: Visibility = "public"
    join_mode: JoinMode = "instant"
    name: str | None = Field(
        None,
        max_length=30,
        description="The Group's handle (`name@host`); made from the display name if omitted."
        " Fixed once chosen.",
    )


class SpacePatch(ApiInput):
    display_name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    visibility: Visibility | None = Field(
        None, description="Making a space private makes its posts members-only"
    )
    join_mode: JoinMode | None = None


class SpaceOut(ApiModel):
    id: str
    name: str
    handle: str = Field(description="`name@host` of its Group actor")
    uri: str = Field(description="Its Group actor")
    display_name: str
    description: str
    visibility: str
    join_mode: str
    local: bool = Field(description="Run by this pod (else by the Group's pod)")
    role: Literal["admin", "member"] | None = Field(description="Yours; null if not a member")
    member_count: int | None = Field(description="Members only; null in the limited view")
    created_at: str | None = Field(description="Members only; null in the limited view")
    updated_at: str | None = Field(description="Members only; null in the limited view")


class InviteIn(ApiInput):
    max_uses: int | None = Field(None, description="Unlimited when omitted")
    expires_in_minutes: int | None = Field(None, description="Never expires when omitted")
    join_mode_override: Literal["instant", "application"] | None = Field(
        None, description="How those with the code join; the space's join mode when omitted"
    )


class InviteOut(ApiModel):
    space_id: str
    code: str
    link: str = Field(description="The Group's URL with `?invite=<code>`; any pod can join by it")
    max_uses: int | None
    uses: int
    expires_at: str | None
    join_mode_override: str | None
    created_at: str


class JoinIn(ApiInput):
    code: str | None = Field(None, max_length=100)
    message: str = Field("", max_length=2000, description="For an application")


class JoinTargetIn(ApiInput):
    target: str | None = Field(
        None,
        max_length=2048,
        description="An invite link, a Group URL, `name@host`, a space id; omit for a code of"
        " this pod",
    )
    code: str | None = Field(None, max_length=100)
    message: str = Field("", max_length=2000, description="For an application")


class ApplicationIn(ApiInput):
    message: str = Field("", max_length=2000)


class ApplicationOut(ApiModel):
    id: str
    space_id: str
    applicant: IdentityOut
    message: str
    state: Literal["pending", "approved", "rejected", "withdrawn"]
    created_at: str
    updated_at: str


class JoinOut(ApiModel):
    state: Literal["member", "pending"] = Field(
        description="`pending`: an application, or a remote space yet to answer"
    )
    space: SpaceOut
    application: ApplicationOut | None = None


class MemberOut(ApiModel):
    identity: IdentityOut
    role: Literal["admin", "member"]
    joined_at: str


class RoleIn(ApiInput):
    role: Literal["admin", "member"]
