"""Spaces: creation and settings, invites, applications, members and roles; joining remote
spaces (their Group actors) and what remote members do in ours."""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from node.clock import Clock, iso
from node.errors import ApiError, conflict, forbidden, not_found, validation
from node.ids import is_guid, new_guid
from node.services.follows import FollowService
from node.services.handles import name_taken, split_handle
from node.services.ports import Directory, Publisher
from node.services.principal import Principal
from node.services.rules import has_visible, username_problem
from node.store import follows as follow_store
from node.store import identities as identity_store
from node.store import notifications as notification_store
from node.store import posts as post_store
from node.store import remote_actors as actor_store
from node.store import spaces as store
from node.store.db import Database, Queryable, Tx
from node.store.follows import Follow
from node.store.identities import Identity
from node.store.paging import Page, PageRequest
from node.store.posts import Post, PostRef
from node.store.spaces import Application, Invite, Member, Space

if TYPE_CHECKING:  # the post service imports this module
    from node.services.posts import PostService, RemotePost

VISIBILITIES = ("public", "private")
JOIN_MODES = ("instant", "application", "invite", "closed")
OVERRIDES = ("instant", "application")
ROLES = ("admin", "member")
MAX_DISPLAY_NAME = 100
MAX_DESCRIPTION = 2000
MAX_MESSAGE = 2000
MAX_USES = 100_000
MAX_EXPIRY_MINUTES = 60 * 24 * 365


@dataclass(frozen=True)
class SpaceView:
    space: Space
    uri: str  # the Group actor
    role: str | None  # the viewer's, None for a non-member
    member_count: int | None  # None in the limited view of a public space to non-members


@dataclass(frozen=True)
class InviteView:
    invite: Invite
    link: str


@dataclass(frozen=True)
class JoinView:
    space: SpaceView
    state: str  # 'member', or 'pending' (an application, or a remote space still to answer)
    application: Application | None = None


def _problems(
    display_name: str | None,
    description: str | None,
    visibility: str | None,
    join_mode: str | None,
) -> dict[str, str]:
    out: dict[str, str] = {}
    if display_name is not None and (
        not has_visible(display_name) or len(display_name.strip()) > MAX_DISPLAY_NAME
    ):
        out["displayName"] = f"1 to {MAX_DISPLAY_NAME} characters"
    if description is not None and len(description) > MAX_DESCRIPTION:
        out["description"] = f"at most {MAX_DESCRIPTION} characters"
    if visibility is not None and visibility not in VISIBILITIES:
        out["visibility"] = f"one of {', '.join(VISIBILITIES)}"
    if join_mode is not None and join_mode not in JOIN_MODES:
        out["joinMode"] = f"one of {', '.join(JOIN_MODES)}"
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:24]


async def space_to_post_in(q: Queryable, identity_guid: str, space_guid: str) -> Space:
    """The space, if the identity may post in it: 404 when they cannot see it, 403 otherwise."""
    space = await store.get(q, space_guid) if is_guid(space_guid) else None
    if space is None:
        raise not_found("Space")
    if await store.role(q, space.guid, identity_guid) is None:
        if not space.public:
            raise not_found("Space")
        raise forbidden("Only members post in a space.", "not_a_member")
    return space


async def relaying_space(q: Queryable, post: Post, actor_guid: str) -> Space | None:
    """Our space the post is in, if the remote `actor_guid` belongs to it: its Group relays
    what they do to the post (a like, a reaction) to the other members' pods."""
    space = await store.get(q, post.space_guid) if post.space_guid else None
    if space is None or not space.local or await store.role(q, space.guid, actor_guid) is None:
        return None
    return space


async def keep_an_admin(q: Queryable, spaces: list[Space], leaving: list[str]) -> None:
    """The leave rule: a space never goes without an admin. Refuses (409) the departure of the
    identities `leaving` from `spaces`, naming those where they are all the admins left."""
    stranded = []
    for space in spaces:
        admins = await store.admins(q, space.guid)
        if admins and set(admins) <= set(leaving):
            stranded.append(space.name)
    if stranded:
        raise conflict(
            f"These spaces would have no admin left: {', '.join(stranded)}."
            " Make someone else admin, or delete the space, first.",
            "last_admin",
        )


def _in_space(data: RemotePost, visibility: str, space: Space) -> RemotePost:
    """A remote post filed in a space. A members-only one is read by the space's members and
    nobody else: whoever else its copy addresses (the people it mentions, say) gains nothing."""
    recipients = data.recipients if visibility == "public" else []
    return dataclasses.replace(
        data, visibility=visibility, space_guid=space.guid, recipients=recipients
    )


class SpaceService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        publisher: Publisher,
        directory: Directory,
        follows: FollowService,
        posts: PostService,
        our_host: str,
    ) -> None:
        self._db = db
        self._clock = clock
        self._publisher = publisher
        self._directory = directory
        self._follows = follows
        self._posts = posts
        self._host = our_host

    def _now(self) -> str:
        return iso(self._clock.now())

    # --- seeing a space ---

    async def _uri(self, q: Queryable, space: Space) -> str:
        if space.local:
            return self._publisher.group_id(space.guid)
        actor = await actor_store.by_identity(q, space.actor_guid or "")
        return actor.uri if actor else ""

    async def _view(self, q: Queryable, space: Space, viewer: str | None) -> SpaceView:
        role = await store.role(q, space.guid, viewer) if viewer else None
        count = await store.member_count(q, space.guid) if role else None
        return SpaceView(space, await self._uri(q, space), role, count)

    async def _visible(self, q: Queryable, guid: str, viewer: str) -> tuple[Space, str | None]:
        """The space and the viewer's role; private spaces do not exist for non-members."""
        space = await store.get(q, guid) if is_guid(guid) else None
        if space is None:
            raise not_found("Space")
        role = await store.role(q, space.guid, viewer)
        if role is None and not space.public:
            raise not_found("Space")
        return space, role

    async def _member(self, q: Queryable, guid: str, viewer: str) -> tuple[Space, str]:
        space, role = await self._visible(q, guid, viewer)
        if role is None:
            raise forbidden("Only members may see this.", "not_a_member")
        return space, role

    async def _admin(self, q: Queryable, guid: str, viewer: str) -> Space:
        space, role = await self._visible(q, guid, viewer)
        if not space.local:
            raise ApiError(
                422, "remote_space", "This space is run by another pod; manage it there."
            )
        if role != "admin":
            raise forbidden("Only admins of the space may do this.", "not_an_admin")
        return space

    async def get(self, who: Principal, guid: str) -> SpaceView:
        space, _ = await self._visible(self._db, guid, who.identity_guid)
        return await self._view(self._db, space, who.identity_guid)

    async def mine(self, who: Principal, page: PageRequest) -> tuple[list[SpaceView], Page]:
        spaces, result = await store.mine(self._db, who.identity_guid, page)
        return [await self._view(self._db, s, who.identity_guid) for s in spaces], result

    async def discover(
        self, who: Principal, text: str, page: PageRequest
    ) -> tuple[list[SpaceView], Page]:
        spaces, result = await store.discover(self._db, text.strip(), page)
        return [await self._view(self._db, s, who.identity_guid) for s in spaces], result

    async def posts(
        self, who: Principal, guid: str, page: PageRequest
    ) -> tuple[list[PostRef], Page]:
        space, _ = await self._visible(self._db, guid, who.identity_guid)
        return await store.posts(
            self._db, space.guid, who.identity_guid, self._now(), page, who.public_only
        )

    # --- creating and changing ---

    async def _free_name(self, q: Queryable, wanted: str | None, display_name: str) -> str:
        if wanted is not None:
            problem = username_problem(wanted)
            if problem:
                raise validation({"name": problem})
            if await name_taken(q, wanted):
                raise conflict("This name is taken.", "name_taken")
            return wanted
        base = _slug(display_name) or "space"
        name = base
        while username_problem(name) or await name_taken(q, name):
            name = f"{base}_{secrets.token_hex(2)}"
        return name

    async def create(
        self,
        who: Principal,
        display_name: str,
        description: str,
        visibility: str,
        join_mode: str,
        name: str | None = None,
    ) -> SpaceView:
        problems = _problems(display_name, description, visibility, join_mode)
        if problems:
            raise validation(problems)
        now = self._now()
        async with self._db.transaction() as tx:
            space = Space(
                guid=new_guid(),
                name=await self._free_name(tx, name, display_name),
                domain=None,
                actor_guid=None,
                display_name=display_name.strip(),
                description=description,
                visibility=visibility,
                join_mode=join_mode,
                created_at=now,
                updated_at=now,
            )
            await store.insert(tx, space)
            await store.add_member(tx, Member(space.guid, who.identity_guid, "admin", None, now))
            return await self._view(tx, space, who.identity_guid)

    async def update(self, who: Principal, guid: str, changes: dict[str, str]) -> SpaceView:
        problems = _problems(
            changes.get("display_name"),
            changes.get("description"),
            changes.get("visibility"),
            changes.get("join_mode"),
        )
        if problems:
            raise validation(problems)
        if "display_name" in changes:
            changes["display_name"] = changes["display_name"].strip()
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            if changes:
                await store.update(tx, space.guid, self._now(), changes)
            if space.public and changes.get("visibility") == "private":
                await store.make_posts_private(tx, space.guid)
            updated = await store.get(tx, space.guid)
            assert updated is not None
            if changes:
                await self._publisher.space_updated(tx, updated)
            return await self._view(tx, updated, who.identity_guid)

    async def delete(self, who: Principal, guid: str) -> None:
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            # Ours go with a Delete to everyone they reached. Members' posts go here at once
            # (tombstones left): the Group's Delete of itself, below, makes members' pods drop
            # the space and everything in it, so no Delete per post and per member is queued.
            for post in await store.local_posts(tx, space.guid):
                await self._posts.delete_in(tx, post)
            await self._posts.remove_all(tx, post_store.IN_SPACE, space.guid)
            # Remote applicants' pods would wait for an answer forever.
            for app in await store.pending_applications(tx, space.guid):
                applicant = await identity_store.get(tx, app.applicant_guid)
                if applicant is not None and not applicant.local and app.follow_ap_id:
                    await self._publisher.space_join_answered(
                        tx, space, applicant, app.follow_ap_id, False
                    )
            await self._publisher.space_deleted(tx, space)  # reads the members before they go
            await store.delete(tx, space.guid)

    # --- invites ---

    def _link(self, space: Space, code: str) -> str:
        return f"{self._publisher.group_id(space.guid)}?invite={code}"

    async def make_invite(
        self,
        who: Principal,
        guid: str,
        max_uses: int | None,
        expires_in_minutes: int | None,
        override: str | None,
    ) -> InviteView:
        problems: dict[str, str] = {}
        if max_uses is not None and not 1 <= max_uses <= MAX_USES:
            problems["maxUses"] = f"1 to {MAX_USES}"
        if expires_in_minutes is not None and not 1 <= expires_in_minutes <= MAX_EXPIRY_MINUTES:
            problems["expiresInMinutes"] = f"1 to {MAX_EXPIRY_MINUTES}"
        if override is not None and override not in OVERRIDES:
            problems["joinModeOverride"] = f"one of {', '.join(OVERRIDES)}"
        if problems:
            raise validation(problems)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            invite = Invite(
                space_guid=space.guid,
                admin_guid=who.identity_guid,
                code=secrets.token_urlsafe(12),
                max_uses=max_uses,
                uses=0,
                expires_at=(
                    iso(now + timedelta(minutes=expires_in_minutes)) if expires_in_minutes else None
                ),
                join_mode_override=override,
                created_at=iso(now),
            )
            await store.put_invite(tx, invite)  # replaces the admin's old one, and its code
        return InviteView(invite, self._link(space, invite.code))

    async def my_invite(self, who: Principal, guid: str) -> InviteView:
        space = await self._admin(self._db, guid, who.identity_guid)
        invite = await store.invite_of(self._db, space.guid, who.identity_guid)
        if invite is None:
            raise not_found("Invite")
        return InviteView(invite, self._link(space, invite.code))

    async def revoke_invite(self, who: Principal, guid: str) -> None:
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            if not await store.delete_invite(tx, space.guid, who.identity_guid):
                raise not_found("Invite")

    # --- joining ---

    async def _entry_mode(self, tx: Tx, space: Space, code: str | None) -> tuple[str, bool]:
        """How someone gets in: (mode, whether an invite is used). Raises when they cannot."""
        if code is None:
            if not space.public:
                raise not_found("Space")  # only an invite opens a private space
            mode = space.join_mode
            if mode == "invite":
                raise forbidden("This space takes members by invite only.", "invite_required")
            if mode == "closed":
                raise forbidden("This space takes no new members.", "space_closed")
            return mode, False
        invite = await store.invite_by_code(tx, code)
        if invite is None or invite.space_guid != space.guid:
            if not space.public:
                raise not_found("Space")
            raise forbidden("This invite is not valid.", "invite_invalid")
        if invite.expires_at is not None and invite.expires_at <= self._now():
            raise forbidden("This invite has expired.", "invite_expired")
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            raise forbidden("This invite has been used up.", "invite_used_up")
        # The admin's override wins; without one the space's mode applies, where an invite
        # is exactly what an invite-only space asks for.
        mode = invite.join_mode_override or space.join_mode
        if mode == "invite":
            mode = "instant"
        if mode == "closed":
            raise forbidden("This space takes no new members.", "space_closed")
        return mode, True

    async def _enter(
        self,
        tx: Tx,
        space: Space,
        joiner: Identity,
        code: str | None,
        message: str,
        follow_ap_id: str | None = None,
    ) -> tuple[str, Application | None]:
        """Let someone into one of our spaces by its rules: ('member' | 'pending', application)."""
        if await store.role(tx, space.guid, joiner.guid) is not None:
            raise conflict("You are already a member of this space.", "already_member")
        mode, with_invite = await self._entry_mode(tx, space, code)
        if mode == "application" and await store.pending_application(tx, space.guid, joiner.guid):
            raise conflict("Your application is waiting for an answer.", "application_pending")
        if with_invite and code is not None and not await store.use_invite(tx, code, self._now()):
            raise forbidden("This invite has been used up.", "invite_used_up")  # a race lost
        now = self._now()
        if mode == "instant":
            await store.add_member(tx, Member(space.guid, joiner.guid, "member", follow_ap_id, now))
            # In by an invite while an application waits: nothing is left to decide.
            await store.close_applications(tx, space.guid, joiner.guid, "withdrawn", now)
            await self._notify_admins(tx, space, "space.joined", joiner.guid, space.guid, now)
            return "member", None
        app = await self._new_application(tx, space, joiner, message, follow_ap_id, now)
        return "pending", app

    async def _new_application(
        self,
        tx: Tx,
        space: Space,
        applicant: Identity,
        message: str,
        follow_ap_id: str | None,
        now: str,
    ) -> Application:
        app = Application(
            new_guid(), space.guid, applicant.guid, message, "pending", follow_ap_id, None, now, now
        )
        await store.insert_application(tx, app)
        await self._notify_admins(tx, space, "space.application", applicant.guid, app.guid, now)
        return app

    async def _notify_admins(
        self, tx: Tx, space: Space, kind: str, actor: str, subject: str, now: str
    ) -> None:
        for admin in await store.admins(tx, space.guid):
            await notification_store.add(
                tx, admin, kind, actor, subject, now, spaceId=space.guid, spaceName=space.name
            )

    async def join(
        self, who: Principal, guid: str, code: str | None, message: str = ""
    ) -> JoinView:
        """Join one of our spaces, or ask a remote space's Group (with Follow)."""
        if len(message) > MAX_MESSAGE:
            raise validation({"message": f"at most {MAX_MESSAGE} characters"})
        space = await store.get(self._db, guid) if is_guid(guid) else None
        if space is None:
            raise not_found("Space")
        return await self._join(who, space, code, message)

    async def _join(self, who: Principal, space: Space, code: str | None, message: str) -> JoinView:
        me = await identity_store.get(self._db, who.identity_guid)
        assert me is not None
        if not space.local:
            return await self._join_remote(me, space, code, message)
        async with self._db.transaction() as tx:
            state, app = await self._enter(tx, space, me, code, message)
            return JoinView(await self._view(tx, space, me.guid), state, app)

    async def join_target(
        self, who: Principal, target: str | None, code: str | None, message: str = ""
    ) -> JoinView:
        """Join by what a user was given: an invite link, a Group URL, `name@host`, a GUID, or
        just an invite code of this pod."""
        if len(message) > MAX_MESSAGE:
            raise validation({"message": f"at most {MAX_MESSAGE} characters"})
        if target and target.startswith(("http://", "https://")):
            try:
                parts = urlsplit(target)
            except ValueError:  # brackets around no IPv6 address, say
                raise validation({"target": "not a URL"}) from None
            code = code or (parse_qs(parts.query).get("invite") or [None])[0]
            target = parts._replace(query="", fragment="").geturl()
        if not target:
            invite = await store.invite_by_code(self._db, code) if code else None
            if invite is None:
                raise validation({"code": "not a valid invite code of this pod"})
            space = await store.get(self._db, invite.space_guid)
            assert space is not None
        else:
            space = await self._resolve(target)
        return await self._join(who, space, code, message)

    async def _resolve(self, target: str) -> Space:
        if is_guid(target):
            space = await store.get(self._db, target)
            if space is None:
                raise not_found("Space")
            return space
        if target.startswith(("http://", "https://")):
            local = self._publisher.local_group(target)
            if local is not None:
                space = await store.get(self._db, local)
                if space is None:
                    raise not_found("Space")
                return space
            group = await self._directory.resolve_uri(target)
        else:
            name, domain = split_handle(target)
            if domain is None or domain == self._host.lower():
                space = await store.by_name(self._db, name)
                if space is None:
                    raise not_found("Space")
                return space
            group = await self._directory.resolve_handle(name, domain, "group")
        async with self._db.transaction() as tx:
            return await self.remote_space(tx, group)

    async def remote_group_updated(self, tx: Tx, group: Identity) -> None:
        """A remote Group told us it changed: refresh our record, if we keep one (and the
        actor, as fetched again, is still a Group)."""
        actor = await actor_store.by_identity(tx, group.guid)
        if actor is None or actor.actor_type != "Group":
            return
        if await store.by_actor(tx, group.guid) is not None:
            await self.remote_space(tx, group)

    async def remote_space(self, tx: Tx, group: Identity) -> Space:
        """Our record of a remote Group (made on first sight, refreshed from its actor)."""
        actor = await actor_store.by_identity(tx, group.guid)
        if actor is None or actor.actor_type != "Group":
            raise ApiError(422, "not_a_group", "This is not a space (a Group actor).")
        known = await store.by_actor(tx, group.guid)
        # A remote Group's settings are what its actor says: discoverable ones are public,
        # and those that approve followers by hand take applications.
        values = {
            "display_name": (group.display_name or group.username)[:MAX_DISPLAY_NAME],
            "description": group.bio[:MAX_DESCRIPTION],
            "visibility": "public" if group.discoverable else "private",
            "join_mode": "application" if group.locked else "instant",
        }
        now = self._now()
        if known is not None:
            await store.update(tx, known.guid, now, values)
            if known.public and values["visibility"] == "private":
                # Turned private on its pod: our copies of its posts are members-only too.
                await store.make_posts_private(tx, known.guid)
            updated = await store.get(tx, known.guid)
            assert updated is not None
            return updated
        space = Space(
            guid=new_guid(),
            name=group.username,
            domain=group.domain,
            actor_guid=group.guid,
            created_at=now,
            updated_at=now,
            **values,
        )
        await store.insert(tx, space)
        return space

    async def _join_remote(
        self, me: Identity, space: Space, code: str | None, message: str
    ) -> JoinView:
        assert space.actor_guid is not None
        group = await identity_store.get(self._db, space.actor_guid)
        assert group is not None
        now = self._now()
        async with self._db.transaction() as tx:
            existing = await follow_store.between(tx, me.guid, group.guid)
            if existing is not None and existing.state == "accepted":
                raise conflict("You are already a member of this space.", "already_member")
            if existing is not None:
                # Ask again (perhaps now with a code): a new Follow, since the Group's pod
                # ignores an activity id it has seen.
                await follow_store.delete(tx, existing.guid)
            guid = new_guid()
            follow = Follow(
                guid, me.guid, group.guid, "pending", self._publisher.activity_id(guid), now, now
            )
            await follow_store.insert(tx, follow)
            await self._publisher.space_join(tx, follow, me, group, code, message)
            return JoinView(await self._view(tx, space, me.guid), "pending")

    # --- applications ---

    async def apply(self, who: Principal, guid: str, message: str) -> Application:
        if len(message) > MAX_MESSAGE:
            raise validation({"message": f"at most {MAX_MESSAGE} characters"})
        async with self._db.transaction() as tx:
            space, role = await self._visible(tx, guid, who.identity_guid)
            if not space.local:
                raise ApiError(422, "remote_space", "Join a remote space with POST /spaces/join.")
            if role is not None:
                raise conflict("You are already a member of this space.", "already_member")
            if space.join_mode != "application":
                raise forbidden(
                    f"This space does not take applications (join mode: {space.join_mode}).",
                    "applications_closed",
                )
            if await store.pending_application(tx, space.guid, who.identity_guid):
                raise conflict("Your application is waiting for an answer.", "application_pending")
            me = await identity_store.get(tx, who.identity_guid)
            assert me is not None
            return await self._new_application(tx, space, me, message, None, self._now())

    async def applications(
        self, who: Principal, guid: str, state: str | None, page: PageRequest
    ) -> tuple[list[tuple[Application, Identity]], Page]:
        """Admins see every application; anyone else their own."""
        if state is not None and state not in ("pending", "approved", "rejected", "withdrawn"):
            raise validation({"state": "one of pending, approved, rejected, withdrawn"})
        space, role = await self._visible(self._db, guid, who.identity_guid)
        only = None if role == "admin" else who.identity_guid
        apps, result = await store.applications(self._db, space.guid, only, state, page)
        out = []
        for app in apps:
            ident = await identity_store.get(self._db, app.applicant_guid)
            assert ident is not None
            out.append((app, ident))
        return out, result

    async def _application(
        self, tx: Tx, space: Space, app_guid: str
    ) -> tuple[Application, Identity]:
        app = await store.application(tx, app_guid) if is_guid(app_guid) else None
        if app is None or app.space_guid != space.guid:
            raise not_found("Application")
        applicant = await identity_store.get(tx, app.applicant_guid)
        assert applicant is not None
        return app, applicant

    async def decide(
        self, who: Principal, guid: str, app_guid: str, approve: bool
    ) -> tuple[Application, Identity]:
        now = self._now()
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            app, applicant = await self._application(tx, space, app_guid)
            if app.state != "pending":
                raise conflict(f"This application is {app.state}.", "application_decided")
            if await store.role(tx, space.guid, applicant.guid) is not None:
                # A Reject would end their membership on their pod, an approval replace the
                # Follow they are a member by.
                raise conflict("The applicant is a member already.", "already_member")
            state = "approved" if approve else "rejected"
            await store.set_application_state(tx, app.guid, state, who.identity_guid, now)
            if approve:
                member = Member(space.guid, applicant.guid, "member", app.follow_ap_id, now)
                await store.add_member(tx, member)
            if applicant.local:
                kind = "space.approved" if approve else "space.rejected"
                await notification_store.add(
                    tx, applicant.guid, kind, who.identity_guid, space.guid, now,
                    spaceId=space.guid, spaceName=space.name, applicationId=app.guid,
                )  # fmt: skip
            elif app.follow_ap_id:
                await self._publisher.space_join_answered(
                    tx, space, applicant, app.follow_ap_id, approve
                )
        return dataclasses.replace(app, state=state, decided_by_guid=who.identity_guid), applicant

    async def withdraw(
        self, who: Principal, guid: str, app_guid: str
    ) -> tuple[Application, Identity]:
        async with self._db.transaction() as tx:
            space, _ = await self._visible(tx, guid, who.identity_guid)
            app, applicant = await self._application(tx, space, app_guid)
            if applicant.guid != who.identity_guid:
                raise not_found("Application")
            if app.state != "pending":
                raise conflict(f"This application is {app.state}.", "application_decided")
            await store.set_application_state(tx, app.guid, "withdrawn", None, self._now())
        return dataclasses.replace(app, state="withdrawn"), applicant

    # --- members ---

    async def members(
        self, who: Principal, guid: str, page: PageRequest
    ) -> tuple[list[tuple[Member, Identity]], Page]:
        space, _ = await self._member(self._db, guid, who.identity_guid)
        return await store.members(self._db, space.guid, page)

    async def _target_member(self, tx: Tx, space: Space, identity_guid: str) -> Member:
        m = await store.member(tx, space.guid, identity_guid) if is_guid(identity_guid) else None
        if m is None:
            raise not_found("Member")
        return m

    async def set_role(
        self, who: Principal, guid: str, identity_guid: str, role: str
    ) -> tuple[Member, Identity]:
        if role not in ROLES:
            raise validation({"role": "one of admin, member"})
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            m = await self._target_member(tx, space, identity_guid)
            ident = await identity_store.get(tx, m.identity_guid)
            assert ident is not None
            if role == "admin" and not ident.local:
                raise validation({"role": "admins are identities of this pod"})
            if role == "member":
                await keep_an_admin(tx, [space], [m.identity_guid])
            await store.set_role(tx, space.guid, m.identity_guid, role)
        return dataclasses.replace(m, role=role), ident

    async def _remove(self, tx: Tx, space: Space, m: Member) -> None:
        await keep_an_admin(tx, [space], [m.identity_guid])
        await store.remove_member(tx, space.guid, m.identity_guid)
        ident = await identity_store.get(tx, m.identity_guid)
        if ident is not None and not ident.local and m.follow_ap_id:
            # As with a removed follower: a Reject of their Follow ends it on their pod.
            await self._publisher.space_join_answered(tx, space, ident, m.follow_ap_id, False)

    async def remove_member(self, who: Principal, guid: str, identity_guid: str) -> None:
        if identity_guid in (who.identity_guid, "current"):
            await self.leave(who, guid)
            return
        async with self._db.transaction() as tx:
            space = await self._admin(tx, guid, who.identity_guid)
            await self._remove(tx, space, await self._target_member(tx, space, identity_guid))

    async def leave(self, who: Principal, guid: str) -> None:
        remote = await store.get(self._db, guid) if is_guid(guid) else None
        group = remote.actor_guid if remote is not None else None
        # Leaving a remote space, or taking back a request it has not answered: an Undo of the
        # Follow (the follow service sends it).
        if group and await follow_store.between(self._db, who.identity_guid, group):
            await self._follows.unfollow(who, group)
            return
        space, _ = await self._member(self._db, guid, who.identity_guid)
        async with self._db.transaction() as tx:
            await self._remove(tx, space, await self._target_member(tx, space, who.identity_guid))

    # --- what remote pods tell us (called by the inbox inside its transaction) ---

    async def remote_follow(
        self,
        tx: Tx,
        space: Space,
        follower: Identity,
        follow_ap_id: str,
        code: str | None,
        message: str,
    ) -> None:
        """A remote identity asks to join with Follow: Accept, an application, or Reject."""
        member = await store.member(tx, space.guid, follower.guid)
        if member is not None:
            # A repeated Follow (they lost state, or joined again): the same answer again,
            # and this Follow is the one a later Undo will name.
            await store.add_member(tx, dataclasses.replace(member, follow_ap_id=follow_ap_id))
            await self._publisher.space_join_answered(tx, space, follower, follow_ap_id, True)
            return
        # Their pod keeps only the latest Follow (it replaces the one it sent before), so that
        # one speaks for a pending application: the answer, or an Undo, names it.
        pending = await store.pending_application(tx, space.guid, follower.guid)
        if pending is not None:
            await store.set_application_follow(tx, pending.guid, follow_ap_id, self._now())
        try:
            state, _ = await self._enter(tx, space, follower, code, message, follow_ap_id)
        except ApiError as exc:
            if exc.code == "application_pending":
                return  # still waiting, now on this Follow
            if pending is not None:
                # The Reject ends the request on their pod, the application with it.
                await store.set_application_state(tx, pending.guid, "withdrawn", None, self._now())
            await self._publisher.space_join_answered(tx, space, follower, follow_ap_id, False)
            return
        if state == "member":
            await self._publisher.space_join_answered(tx, space, follower, follow_ap_id, True)

    async def remote_leave(self, tx: Tx, follower: Identity, follow_ap_id: str) -> bool:
        """Undo of the Follow that made someone a member (or their pending application)."""
        m = await store.member_by_follow(tx, follow_ap_id)
        if m is not None and m.identity_guid == follower.guid:
            await store.remove_member(tx, m.space_guid, follower.guid)  # never an admin
            return True
        app = await store.application_by_follow(tx, follow_ap_id)
        if app is not None and app.applicant_guid == follower.guid:
            await store.set_application_state(tx, app.guid, "withdrawn", None, self._now())
            return True
        return False

    async def remote_identity_gone(self, tx: Tx, ident: Identity) -> None:
        """A remote account was deleted: it leaves our spaces (a remote member is never an
        admin, so no space is left without one), and its pending applications are withdrawn.
        Its posts in them (removed with all its others by the posts service) are relayed as
        deleted: the other members' pods may never hear of the account's deletion from its
        own pod, which knows them through the Group only."""
        spaces: dict[str, Space | None] = {}
        for post in await post_store.in_our_spaces_by(tx, ident.guid):
            guid = post.space_guid or ""
            if guid not in spaces:
                spaces[guid] = await store.get(tx, guid)
            if (space := spaces[guid]) is not None:
                await self._publisher.space_relay(tx, space, post, ident, "Delete")
        await store.remove_everywhere(tx, ident.guid, self._now())

    async def remote_group_deleted(self, tx: Tx, group: Identity) -> None:
        """A remote space's Group deleted itself: the space goes, with the posts it brought
        (each leaves a tombstone); see below for our own."""
        space = await store.by_actor(tx, group.guid)
        if space is None:
            return
        # A Group never deletes our own posts (as in `_relayed_delete`): public ones stay,
        # outside the space; members-only ones had no readers but its members, and go here
        # quietly. Everything goes in a few statements, however much the Group had sent us.
        await post_store.leave_space(tx, space.guid)
        await self._posts.remove_all(tx, post_store.IN_SPACE, space.guid)
        await store.delete(tx, space.guid)

    async def remote_post(
        self, tx: Tx, space: Space, author: Identity, data: RemotePost
    ) -> Post | None:
        """A member's post sent to one of our spaces: kept, then relayed to the other members."""
        if await store.role(tx, space.guid, author.guid) is None:
            return None
        visibility = "public" if space.public and data.visibility == "public" else "space"
        stored = await self._posts.remote_create(tx, author, _in_space(data, visibility, space))
        if stored is not None:
            await self._publisher.space_relay(tx, space, stored, author, "Create")
        return stored

    async def remote_update(self, tx: Tx, space: Space, author: Identity, data: RemotePost) -> None:
        """A member edited their post in one of our spaces: kept and relayed. Someone who has
        left or was removed may still delete what they posted, but no longer rewrite it."""
        if await store.role(tx, space.guid, author.guid) is None:
            return
        if await self._posts.remote_update(tx, author, data):
            post = await post_store.by_ap_id(tx, data.ap_id)
            assert post is not None
            await self._publisher.space_relay(tx, space, post, author, "Update")

    async def remote_delete(self, tx: Tx, space: Space, author: Identity, post: Post) -> None:
        """A member deleted their post in one of our spaces: relayed, then gone."""
        await self._publisher.space_relay(tx, space, post, author, "Delete")
        await self._posts.remote_delete(tx, author, post.ap_id)

    async def relayed_post(
        self,
        tx: Tx,
        space: Space,
        author: Identity,
        data: RemotePost,
        kind: str,
        from_origin: bool,
    ) -> Post | None:
        """A remote author's post (its Create or Update) that a remote space's Group relayed
        to us (FEP-1b12 Announce). `from_origin`: the post's own origin says it is in the space,
        not only the Group.

        The Group is trusted with what is in its space, and with nothing else: it may not file
        a post we hold outside it into it (a followers-only one would change hands), nor
        rewrite one; a public post's edits come from its origin.
        """
        known = await post_store.by_ap_id(tx, data.ap_id)
        if known is None:
            if kind != "Create":
                return None
            visibility = "public" if data.visibility == "public" else "space"
            return await self._posts.remote_create(tx, author, _in_space(data, visibility, space))
        if known.local or known.author_guid != author.guid:
            return None
        if known.space_guid is None and from_origin and known.visibility == "public":
            await store.attach_post(tx, known.guid, space.guid)  # had from its author first
            await self._posts.filed_in_space(tx, known.guid)
        elif (
            kind == "Update"
            and known.space_guid == space.guid
            and (from_origin or known.visibility != "public")
        ):
            await self._posts.remote_update(tx, author, data)
        return None
