"""Sharing: scoped grants from an owner's items to another identity, local or remote.

A grant names a scope (all, items with some of the owner's labels, or listed items) and
permissions (read, write, delete, share). A grantee with can_share may re-share within its own
rights; such sub-shares are clamped when their parent shrinks and deleted with it. Access checks
themselves live in node.services.access and the predicate it shares with every query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from node.clock import Clock, iso
from node.errors import ApiError, forbidden, not_found, validation
from node.ids import is_guid, new_guid
from node.services.handles import check_reachable, find_identity
from node.services.ports import Directory, Publisher, RemoteItem, SharedItems
from node.services.posts import PostService, check_body
from node.services.principal import Principal
from node.store import identities as identity_store
from node.store import labels as label_store
from node.store import notifications as notification_store
from node.store import posts as post_store
from node.store import shares as share_store
from node.store.db import Database, Queryable, Tx
from node.store.identities import Identity
from node.store.paging import Page, PageRequest
from node.store.posts import Post
from node.store.shares import Share
from node.urls import same_origin

SCOPES = ("all", "specific_tags", "specific_items")
MAX_IDS = 200


@dataclass(frozen=True)
class ShareRequest:
    scope: str
    tag_ids: list[str]
    item_ids: list[str]
    can_read: bool
    can_write: bool
    can_delete: bool
    can_share: bool
    expires_at: str | None


@dataclass(frozen=True)
class ShareView:
    share: Share
    owner: Identity
    grantee: Identity
    granted_by: Identity
    label_names: dict[str, str]


def _parse_expiry(value: str | None, now: datetime) -> str | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # A time without an offset is UTC (the API's zone), never the server's local time.
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise validation({"expires_at": "an ISO 8601 time such as 2027-01-01T00:00:00Z"}) from None
    if when <= now:
        raise validation({"expires_at": "must be in the future"})
    return iso(when)


class ShareEnding:
    """Telling a share's grantee it changed or ended, and ending shares with their re-shares:
    what revoking a share and deleting an account both do."""

    def __init__(self, clock: Clock, publisher: Publisher) -> None:
        self._clock = clock
        self._publisher = publisher

    async def view(self, q: Queryable, share: Share) -> ShareView:
        people = {}
        for guid in {share.owner_guid, share.grantee_guid, share.granted_by_guid}:
            ident = await identity_store.get(q, guid)
            assert ident is not None
            people[guid] = ident
        names = await label_store.names(q, share.label_ids)
        if share.remote or len(names) < len(share.label_ids):
            rows = await q.fetchall(
                "SELECT label_guid, label_name FROM share_labels WHERE share_guid = ?",
                (share.guid,),
            )
            names = {r[0]: r[1] for r in rows} | names
        return ShareView(
            share, people[share.owner_guid], people[share.grantee_guid],
            people[share.granted_by_guid], names,
        )  # fmt: skip

    async def tell_grantee(self, tx: Tx, view: ShareView, kind: str) -> None:
        if view.grantee.local:
            await notification_store.add(
                tx,
                view.grantee.guid,
                kind,
                view.granted_by.guid,
                view.share.guid,
                iso(self._clock.now()),
            )
        elif kind == "share.changed":
            await self._publisher.share_updated(tx, view)
        else:
            await self._publisher.share_revoked(tx, view)

    async def delete(self, tx: Tx, share: Share, kind: str) -> None:
        for child in await share_store.children(tx, share.guid):
            await self.delete(tx, child, kind)
        view = await self.view(tx, share)
        await self.tell_grantee(tx, view, kind)
        await share_store.delete(tx, share.guid)

    async def identities_leaving(self, tx: Tx, guids: list[str]) -> None:
        """Before identities are deleted: the re-shares they made within someone else's grant
        are revoked and their grantees told, as the owner stays (the rows alone would go with
        the identities, and a remote grantee's pod would keep listing them)."""
        for share in await share_store.granted_within_others(tx, guids):
            if await share_store.get(tx, share.guid) is not None:  # not gone with a parent
                await self.delete(tx, share, "share.revoked")


class SharingService:
    def __init__(
        self, db: Database, clock: Clock, publisher: Publisher, directory: Directory, our_host: str
    ) -> None:
        self._db = db
        self._clock = clock
        self._publisher = publisher
        self._directory = directory
        self._host = our_host
        self._ending = ShareEnding(clock, publisher)

    def now(self) -> str:
        return iso(self._clock.now())

    # --- reading ---

    async def view(self, q: Queryable, share: Share) -> ShareView:
        return await self._ending.view(q, share)

    async def _visible(self, who: Principal, guid: str) -> Share:
        share = await share_store.get(self._db, guid) if is_guid(guid) else None
        me = who.identity_guid
        if (
            share is None
            or share.kind != "grant"
            or me not in (share.owner_guid, share.grantee_guid, share.granted_by_guid)
        ):
            raise not_found("Share")
        return share

    async def get(self, who: Principal, guid: str) -> ShareView:
        return await self.view(self._db, await self._visible(who, guid))

    async def listing(
        self, who: Principal, side: str, page: PageRequest
    ) -> tuple[list[ShareView], Page, int]:
        column = "granted_by_guid" if side == "outgoing" else "grantee_guid"
        shares, result = await share_store.listing(self._db, column, who.identity_guid, page)
        total = await share_store.count(self._db, column, who.identity_guid)
        return [await self.view(self._db, s) for s in shares], result, total

    # --- granting ---

    async def _validate(
        self, owner: str, req: ShareRequest, parent: Share | None, kept: Share | None = None
    ) -> None:
        """Check a new share, or a change to `kept` (whose ids were checked when they came)."""
        problems: dict[str, str] = {}
        if req.scope == "graph":
            raise ApiError(422, "scope_reserved", "The graph scope is reserved.",
                           fields={"scope": "reserved"})  # fmt: skip
        if req.scope not in SCOPES:
            problems["scope"] = f"one of {', '.join(SCOPES)}"
        if req.scope == "specific_tags" and not req.tag_ids:
            problems["tag_ids"] = "required for specific_tags"
        if req.scope == "specific_items" and not req.item_ids:
            problems["item_ids"] = "required for specific_items"
        if len(req.tag_ids) > MAX_IDS or len(req.item_ids) > MAX_IDS:
            problems["scope"] = f"at most {MAX_IDS} ids"
        if (req.can_write or req.can_delete or req.can_share) and not req.can_read:
            problems["can_read"] = "other permissions need read"
        if problems:
            raise validation(problems)
        # Ids must be the owner's own; anything else is refused alike, never revealing why.
        # Ids a share already holds stay valid when their label or post has gone since: they
        # cover nothing any more, and must not block changing the rest of the share.
        new_tags = set(req.tag_ids) - set(kept.label_ids if kept else ())
        new_items = set(req.item_ids) - set(kept.item_ids if kept else ())
        owned = await label_store.owned(self._db, owner, sorted(new_tags))
        if req.scope == "specific_tags" and new_tags - owned:
            raise validation({"tag_ids": "unknown labels"})
        if req.scope == "specific_items":
            for item in sorted(new_items):
                post = await post_store.get(self._db, item) if is_guid(item) else None
                if post is None or post.author_guid != owner or not post.local:
                    raise validation({"item_ids": "unknown items"})
        if parent is not None:
            await self._within(parent, req, kept=kept)

    async def _within(
        self,
        parent: Share,
        req: ShareRequest,
        q: Queryable | None = None,
        kept: Share | None = None,
    ) -> None:
        """A sub-share never exceeds its parent: rights, expiry and scope (for a change to
        `kept`, only the items it adds are checked against the parent's labels)."""
        q = q or self._db
        for perm in ("can_read", "can_write", "can_delete", "can_share"):
            if getattr(req, perm) and not getattr(parent, perm):
                raise forbidden(f"You cannot grant {perm} you do not hold.", "exceeds_own_rights")
        if parent.expires_at and (req.expires_at is None or req.expires_at > parent.expires_at):
            raise forbidden(
                "A re-share cannot outlive the share it comes from.", "exceeds_own_rights"
            )
        if parent.scope == "all":
            return
        if parent.scope == "specific_tags":
            if req.scope == "specific_tags" and set(req.tag_ids) <= set(parent.label_ids):
                return
            if req.scope == "specific_items":
                # An item the re-share already holds may have lost the parent's labels since;
                # it then grants nothing (coverage follows the parent), and must not block a
                # change to the rest of the re-share, such as taking a right away.
                held = set(kept.item_ids) if kept and kept.scope == "specific_items" else set()
                added = [i for i in req.item_ids if i not in held]
                labelled = await label_store.of_posts(q, added)
                if all(set(labelled.get(i, [])) & set(parent.label_ids) for i in added):
                    return
        items_within = set(req.item_ids) <= set(parent.item_ids)
        if parent.scope == "specific_items" and req.scope == "specific_items" and items_within:
            return
        raise forbidden("You cannot share more than was shared with you.", "exceeds_own_rights")

    async def create(
        self, who: Principal, shared_with: str, req: ShareRequest, parent_id: str | None = None
    ) -> ShareView:
        now = self._clock.now()
        req = replace(req, expires_at=_parse_expiry(req.expires_at, now))
        parent = None
        owner = who.identity_guid
        if parent_id is not None:
            parent = await share_store.get(self._db, parent_id) if is_guid(parent_id) else None
            if parent is None or parent.grantee_guid != who.identity_guid or parent.kind != "grant":
                raise validation({"parent_id": "unknown share"})
            if parent.remote:
                raise forbidden("Re-share remote items from their owner's pod.", "remote_parent")
            if not parent.active(iso(now)) or not parent.can_share:
                raise forbidden("That share does not allow re-sharing.", "exceeds_own_rights")
            owner = parent.owner_guid
            if req.expires_at is None and parent.expires_at:
                req = replace(req, expires_at=parent.expires_at)
        await self._validate(owner, req, parent)
        grantee = await find_identity(self._db, self._directory, self._host, shared_with)
        if grantee.guid in (who.identity_guid, owner):
            raise validation({"shared_with": "share with someone else"})
        await check_reachable(self._db, self._publisher, grantee)
        guid = new_guid()
        stamp = iso(now)
        share = Share(
            guid=guid, owner_guid=owner, grantee_guid=grantee.guid,
            granted_by_guid=who.identity_guid, parent_guid=parent.guid if parent else None,
            kind="grant", scope=req.scope, can_read=req.can_read, can_write=req.can_write,
            can_delete=req.can_delete, can_share=req.can_share, expires_at=req.expires_at,
            remote=False, ap_id=self._publisher.share_id(guid), items_uri=None,
            created_at=stamp, updated_at=stamp,
            label_ids=sorted(set(req.tag_ids)) if req.scope == "specific_tags" else [],
            item_ids=sorted(set(req.item_ids)) if req.scope == "specific_items" else [],
        )  # fmt: skip
        async with self._db.transaction() as tx:
            names = await label_store.names(tx, share.label_ids)
            await share_store.insert(tx, share, names)
            view = await self.view(tx, share)
            if grantee.local:
                await notification_store.add(
                    tx, grantee.guid, "share.received", who.identity_guid, guid, stamp
                )
            else:
                await self._publisher.share_granted(tx, view)
        return view

    async def update(self, who: Principal, guid: str, changes: dict[str, object]) -> ShareView:
        share = await self._visible(who, guid)
        if share.granted_by_guid != who.identity_guid:
            raise forbidden("Only the one who granted a share may change it.", "not_owner")
        nulls = sorted(k for k, v in changes.items() if v is None and k != "expires_at")
        if nulls:
            raise validation({k: "must not be null" for k in nulls})
        now = self._clock.now()
        merged = ShareRequest(
            scope=str(changes.get("scope", share.scope)),
            tag_ids=list(changes.get("tag_ids", share.label_ids)),  # type: ignore[call-overload]
            item_ids=list(changes.get("item_ids", share.item_ids)),  # type: ignore[call-overload]
            can_read=bool(changes.get("can_read", share.can_read)),
            can_write=bool(changes.get("can_write", share.can_write)),
            can_delete=bool(changes.get("can_delete", share.can_delete)),
            can_share=bool(changes.get("can_share", share.can_share)),
            expires_at=(
                _parse_expiry(changes["expires_at"], now)  # type: ignore[arg-type]
                if "expires_at" in changes
                else share.expires_at
            ),
        )
        parent = await share_store.get(self._db, share.parent_guid) if share.parent_guid else None
        await self._validate(share.owner_guid, merged, parent, kept=share)
        updated = replace(
            share,
            scope=merged.scope,
            label_ids=sorted(set(merged.tag_ids)) if merged.scope == "specific_tags" else [],
            item_ids=sorted(set(merged.item_ids)) if merged.scope == "specific_items" else [],
            can_read=merged.can_read,
            can_write=merged.can_write,
            can_delete=merged.can_delete,
            can_share=merged.can_share,
            expires_at=merged.expires_at,
            updated_at=iso(now),
        )
        if replace(updated, updated_at=share.updated_at) == share:
            return await self.view(self._db, share)  # nothing changes: nothing to tell
        scope_changed = (updated.scope, updated.label_ids, updated.item_ids) != (
            share.scope, share.label_ids, share.item_ids,
        )  # fmt: skip
        async with self._db.transaction() as tx:
            await share_store.update(tx, updated, await self._label_names(tx, updated))
            await self._clamp_children(tx, updated, scope_changed)
            view = await self.view(tx, updated)
            await self._tell_grantee(tx, view, "share.changed")
        return view

    @staticmethod
    async def _label_names(q: Queryable, share: Share) -> dict[str, str]:
        """Names for a share's labels: current ones, else those recorded when it was made."""
        rows = await q.fetchall(
            "SELECT label_guid, label_name FROM share_labels WHERE share_guid = ?", (share.guid,)
        )
        return {r[0]: r[1] for r in rows} | await label_store.names(q, share.label_ids)

    async def _fits(self, tx: Tx, parent: Share, child: Share) -> bool:
        """Whether a re-share's scope still lies within its parent's."""
        req = ShareRequest(
            child.scope, child.label_ids, child.item_ids, False, False, False, False,
            parent.expires_at,
        )  # fmt: skip
        try:
            await self._within(parent, req, tx)
        except ApiError:
            return False
        return True

    async def _clamp_children(self, tx: Tx, parent: Share, scope_changed: bool) -> None:
        for child in await share_store.children(tx, parent.guid):
            if not parent.can_share or (scope_changed and not await self._fits(tx, parent, child)):
                # A non-sharable parent, or one narrowed below a re-share, takes it along.
                await self._delete(tx, child, "share.revoked")
                continue
            clamped = replace(
                child,
                can_read=child.can_read and parent.can_read,
                can_write=child.can_write and parent.can_write,
                can_delete=child.can_delete and parent.can_delete,
                can_share=child.can_share and parent.can_share,
                expires_at=min(filter(None, (child.expires_at, parent.expires_at)), default=None),
            )
            if clamped != child:  # only a real change is written and told
                clamped = replace(clamped, updated_at=parent.updated_at)
                await share_store.update(tx, clamped, await self._label_names(tx, clamped))
                await self._clamp_children(tx, clamped, False)
                await self._tell_grantee(tx, await self.view(tx, clamped), "share.changed")

    async def _tell_grantee(self, tx: Tx, view: ShareView, kind: str) -> None:
        await self._ending.tell_grantee(tx, view, kind)

    async def _delete(self, tx: Tx, share: Share, kind: str) -> None:
        await self._ending.delete(tx, share, kind)

    async def revoke(self, who: Principal, guid: str) -> None:
        """The granter or the owner revokes; the grantee declines. Re-shares end with it."""
        share = await self._visible(who, guid)
        async with self._db.transaction() as tx:
            if who.identity_guid == share.grantee_guid and share.remote:
                view = await self.view(tx, share)
                await self._publisher.share_declined(tx, view)
                await share_store.delete(tx, share.guid)
                return
            if who.identity_guid == share.grantee_guid:
                for child in await share_store.children(tx, share.guid):
                    await self._delete(tx, child, "share.revoked")
                await notification_store.add(
                    tx, share.granted_by_guid, "share.declined", who.identity_guid, share.guid,
                    self.now(),
                )  # fmt: skip
                await share_store.delete(tx, share.guid)
                return
            await self._delete(tx, share, "share.revoked")

    # --- what remote pods tell us ---

    async def remote_granted(
        self, tx: Tx, owner: Identity, grantee: Identity, share: Share, label_names: dict[str, str]
    ) -> None:
        existing = await share_store.by_ap_id(tx, share.ap_id)
        if existing is not None:
            await self.remote_updated(tx, owner, share, label_names)
            return
        await share_store.insert(tx, share, label_names)
        await notification_store.add(
            tx, grantee.guid, "share.received", owner.guid, share.guid, self.now()
        )

    async def remote_updated(
        self, tx: Tx, sender: Identity, incoming: Share, label_names: dict[str, str]
    ) -> None:
        """An Update (or a repeated Create): `sender` must own the share held under its id."""
        existing = await share_store.by_ap_id(tx, incoming.ap_id)
        if existing is None:
            return
        if not existing.remote or existing.owner_guid != sender.guid:
            raise forbidden("Only the owner may change a share.", "actor_mismatch")
        updated = replace(
            incoming, guid=existing.guid, grantee_guid=existing.grantee_guid,
            created_at=existing.created_at,
        )  # fmt: skip
        await share_store.update(tx, updated, label_names)
        await notification_store.add(
            tx, existing.grantee_guid, "share.changed", sender.guid, existing.guid, self.now()
        )

    async def remote_revoked(self, tx: Tx, sender: Identity, ap_id: str) -> bool:
        """The owner revoked (Delete), or the remote grantee declined (Reject) one of ours."""
        share = await share_store.by_ap_id(tx, ap_id)
        if share is None:
            return False
        if share.remote and share.owner_guid == sender.guid:
            await notification_store.add(
                tx, share.grantee_guid, "share.revoked", sender.guid, share.guid, self.now()
            )
            await share_store.delete(tx, share.guid)
            return True
        if not share.remote and share.grantee_guid == sender.guid:
            if share.kind != "grant":
                # A follow's read grant is the follow's: it ends when the follow is undone.
                raise forbidden(
                    "A follow's read grant ends with the follow: undo the Follow.", "not_a_grant"
                )
            for child in await share_store.children(tx, share.guid):
                await self._delete(tx, child, "share.revoked")
            await notification_store.add(
                tx, share.granted_by_guid, "share.declined", sender.guid, share.guid, self.now()
            )
            await share_store.delete(tx, share.guid)
            return True
        return False

    async def for_remote_reader(self, reader_guid: str, guid: str) -> Share:
        """A share of ours that a remote grantee may read through now (signed fetch)."""
        share = await share_store.get(self._db, guid) if is_guid(guid) else None
        if (
            share is None
            or share.remote
            or share.kind != "grant"
            or share.grantee_guid != reader_guid
            or not share.can_read
            or not share.active(self.now())
        ):
            raise not_found("Share")
        return share


@dataclass(frozen=True)
class SharedItem:
    guid: str | None  # local items
    uri: str
    html: str
    text: str
    author: str
    created_at: str | None
    updated_at: str | None


class SharedItemService:
    """Reading and writing the items of a share, local or on a remote owner's pod."""

    def __init__(
        self, db: Database, clock: Clock, posts: PostService, gateway: SharedItems
    ) -> None:
        self._db = db
        self._clock = clock
        self._posts = posts
        self._gateway = gateway

    async def _share(self, who: Principal, guid: str) -> tuple[Share, Identity, Identity]:
        """A share granted to `who` that is usable now: 404 if not theirs, 403 if expired or
        not readable (for a remote share the owner's pod checks again; its word is final)."""
        share = await share_store.get(self._db, guid) if is_guid(guid) else None
        if share is None or share.kind != "grant" or share.grantee_guid != who.identity_guid:
            raise not_found("Share")
        if not share.active(iso(self._clock.now())):
            raise forbidden("This share has expired.", "share_expired")
        if not share.can_read:
            raise forbidden("This share does not let you read.", "cannot_read")
        owner = await identity_store.get(self._db, share.owner_guid)
        me = await identity_store.get(self._db, who.identity_guid)
        assert owner is not None and me is not None
        return share, owner, me

    def _local(self, post: Post, author: Identity, host: str) -> SharedItem:
        handle = f"{author.username}@{author.domain or host}"
        return SharedItem(
            post.guid, post.ap_id, post.html, post.body, handle, post.created_at, post.updated_at
        )

    @staticmethod
    def _remote(item: RemoteItem) -> SharedItem:
        return SharedItem(
            None, item.uri, item.html, item.text, item.author, item.published, item.updated
        )

    def _check_uri(self, share: Share, item: str) -> None:
        # Reads through a share go to the owner's pod only: the reader's key signs them.
        if not same_origin(item, share.ap_id):
            raise not_found("Item")

    async def list(
        self, who: Principal, guid: str, page: PageRequest, host: str
    ) -> tuple[list[SharedItem], Page | None]:
        share, owner, me = await self._share(who, guid)
        if share.remote:
            assert share.items_uri is not None
            items = await self._gateway.list(share.items_uri, me)
            return [self._remote(i) for i in items], None
        posts, result = await self._posts.shared(who.identity_guid, share.guid, page)
        return [self._local(p, owner, host) for p in posts], result

    async def get(self, who: Principal, guid: str, item: str, host: str) -> SharedItem:
        share, owner, me = await self._share(who, guid)
        if share.remote:
            self._check_uri(share, item)
            return self._remote(await self._gateway.get(item, me))
        post = await self._covered(who, share, item)
        return self._local(post, owner, host)

    async def _covered(self, who: Principal, share: Share, item: str) -> Post:
        """A local item read through this very share: one it covers, visible to the reader."""
        post = await self._posts.get_for(who.identity_guid, item)
        if not await share_store.covers(self._db, share.guid, post.guid):
            raise not_found("Item")
        return post

    async def write(self, who: Principal, guid: str, item: str, body: str, host: str) -> SharedItem:
        # Here for a remote owner too: their pod's refusal would read as a missing item.
        check_body(body)
        share, owner, me = await self._share(who, guid)
        if share.remote:
            self._check_uri(share, item)
            await self._gateway.write(item, me, owner, body)
            return self._remote(await self._gateway.get(item, me))
        await self._covered(who, share, item)
        if not share.can_write:
            raise forbidden("This share does not let you change items.")
        post = await self._posts.edit_for(who.identity_guid, item, body)
        return self._local(post, owner, host)

    async def delete(self, who: Principal, guid: str, item: str) -> None:
        share, owner, me = await self._share(who, guid)
        if share.remote:
            self._check_uri(share, item)
            await self._gateway.delete(item, me, owner)
            return
        await self._covered(who, share, item)
        if not share.can_delete:
            raise forbidden("This share does not let you delete items.")
        await self._posts.delete_for(who.identity_guid, item)
