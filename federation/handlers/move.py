"""Move: a remote account moved to another (Mastodon's account migration). Believed only from
the account itself, and when the new account's document names the old one among its other ids
(`alsoKnownAs`); then the old account's profile names the new one, and our identities that
followed the old account follow the new one."""

from __future__ import annotations

from federation.convert import ref
from federation.handlers.base import Incoming
from node.clock import iso
from node.errors import ApiError, forbidden
from node.store import identities as identity_store
from node.store.db import Tx


async def handle(inc: Incoming) -> None:
    fed = inc.fed
    if inc.object_ref != inc.actor.uri:
        raise forbidden("Only an account may move itself.", "actor_mismatch")
    target = ref(inc.activity.get("target"))
    if target is None or target == inc.actor.uri:
        raise ApiError(422, "invalid_activity", "A Move names the account moved to as target.")
    if fed.urls.is_local(target) or fed.is_blocked(target):
        return  # not to one of ours (none names another id), nor to a domain we refuse
    try:
        new = await fed.directory.alias_of(target, inc.actor.uri)
    except ApiError:
        new = None  # not found, or its server not answering: nothing proves the move
    if new is not None and new.domain is not None and fed.is_blocked(new.domain):
        return  # its handle on a domain we refuse, its actor's host not (a split domain)
    if new is None:
        raise ApiError(
            422,
            "move_unproven",
            "The account moved to cannot be fetched, or does not name this one in alsoKnownAs.",
        )

    async def effect(tx: Tx) -> None:
        # Its profile says where it went (`movedTo`), as Mastodon's does.
        await identity_store.update(
            tx, inc.ident.guid, iso(fed.clock.now()), {"moved_to": new.guid}
        )
        await fed.services.follows.moved(tx, inc.ident, new)

    await inc.apply(effect)
