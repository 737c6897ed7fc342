"""Shares in this pod's vocabulary: a remote owner grants (Create), changes (Update) or revokes
(Delete) a share to one of ours; one of our grantees' pods declines ours (Reject). The sender
must be that owner or that grantee: another actor, even on the same origin, gets 403."""

from __future__ import annotations

from typing import Any

from federation.convert import InvalidDocument, ShareDoc, share_from_as
from federation.handlers.base import Incoming
from federation.urls import same_origin
from node.clock import iso, parse_iso
from node.errors import ApiError, forbidden
from node.ids import new_guid
from node.store import identities as identity_store
from node.store import shares as share_store
from node.store.db import Tx
from node.store.identities import Identity
from node.store.shares import Share


def _parse(inc: Incoming, obj: dict[str, Any]) -> ShareDoc:
    try:
        doc = share_from_as(obj)
    except InvalidDocument as exc:
        raise ApiError(422, "invalid_object", str(exc)) from None
    if not same_origin(doc.ap_id, inc.actor.uri):
        raise forbidden("The share is not on its granter's origin.", "origin_mismatch")
    if doc.owner != inc.actor.uri:
        raise forbidden("Only the owner may grant or change a share.", "actor_mismatch")
    return doc


async def _grantee(inc: Incoming, doc: ShareDoc) -> Identity | None:
    """The first local identity the share names (one query, as share_from_as bounds them)."""
    names = [n for n in map(inc.fed.urls.local_username, doc.recipients) if n]
    found = await identity_store.local_by_usernames(inc.fed.db, names)
    return found[0] if found else None


def _expiry(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return iso(parse_iso(value))
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        raise ApiError(422, "invalid_object", "expiresAt is not a time") from None


def _copy(doc: ShareDoc, owner: Identity, grantee: Identity, now: str) -> Share:
    return Share(
        guid=new_guid(),
        owner_guid=owner.guid,
        grantee_guid=grantee.guid,
        granted_by_guid=owner.guid,
        parent_guid=None,
        kind="grant",
        scope=doc.scope,
        can_read=doc.can_read,
        can_write=doc.can_write,
        can_delete=doc.can_delete,
        can_share=doc.can_share,
        expires_at=_expiry(doc.expires_at),
        remote=True,
        ap_id=doc.ap_id,
        items_uri=doc.shared_items,
        created_at=now,
        updated_at=now,
        label_ids=sorted(doc.labels) if doc.scope == "specific_tags" else [],
        item_ids=sorted(doc.item_ids) if doc.scope == "specific_items" else [],
    )


async def _received(inc: Incoming, obj: dict[str, Any], update: bool) -> None:
    """A Share object arriving in a Create (granted) or an Update (changed)."""
    doc = _parse(inc, obj)
    grantee = await _grantee(inc, doc)
    if grantee is None:
        return
    owner = inc.ident  # the sender, as _parse checked
    share = _copy(doc, owner, grantee, iso(inc.fed.clock.now()))
    sharing = inc.fed.services.sharing

    async def effect(tx: Tx) -> None:
        if update:
            await sharing.remote_updated(tx, owner, share, doc.labels)
        else:
            await sharing.remote_granted(tx, owner, grantee, share, doc.labels)

    await inc.apply(effect)


async def granted(inc: Incoming, obj: dict[str, Any]) -> None:
    await _received(inc, obj, update=False)


async def updated(inc: Incoming, obj: dict[str, Any]) -> None:
    await _received(inc, obj, update=True)


async def revoked(inc: Incoming, ap_id: str) -> bool:
    """Handle a Delete or Reject naming a share; False when `ap_id` is no share we know."""
    if await share_store.by_ap_id(inc.fed.db, ap_id) is None:
        return False

    async def effect(tx: Tx) -> None:
        if not await inc.fed.services.sharing.remote_revoked(tx, inc.ident, ap_id):
            raise forbidden(
                "Only a share's owner may revoke it, or its grantee decline it.", "actor_mismatch"
            )

    await inc.apply(effect)
    return True
