"""Finding an identity from what a user typed: a GUID, `name`, `name@host` or `@name@host`."""

from __future__ import annotations

from node.errors import forbidden, not_found, validation
from node.ids import is_guid
from node.services.ports import Directory, Publisher
from node.services.rules import USERNAME_RE, remote_username_ok
from node.store import identities as identity_store
from node.store import remote_actors as actor_store
from node.store import spaces as space_store
from node.store.db import Database, Queryable
from node.store.identities import Identity
from node.urls import handle_domain


def split_handle(handle: str) -> tuple[str, str | None]:
    """(username, domain or None); raises 422 when it is not a handle."""
    parts = handle.strip().removeprefix("acct:").lstrip("@").split("@")
    # Ours are ASCII names; another pod's may be spelt more freely (`john.doe@host`).
    name_ok = remote_username_ok if len(parts) == 2 else USERNAME_RE.match
    if len(parts) > 2 or not name_ok(parts[0]):
        raise validation({"target": "expected a GUID, name or name@host"})
    if len(parts) == 2:
        # In the one form actors' hosts are stored in (ASCII, lower case, no trailing dot, no
        # default port): what cannot be a host is refused here rather than fail when the URL
        # is built.
        domain = handle_domain(parts[1]) if len(parts[1]) <= 253 else None
        if domain is None:
            raise validation({"target": "expected a GUID, name or name@host"})
        return parts[0], domain
    return parts[0], None


async def name_taken(q: Queryable, name: str) -> bool:
    """Whether a local identity or space holds `name`, ignoring case. Both are `name@host` to
    other pods (WebFinger answers for either, identities first), so they share one namespace:
    identity and account usernames and space names are each refused when the other holds them.
    Private spaces too: they may become public, and their name is already their Group's.
    A deleted identity's name stays taken: other pods still know its actor by that name."""
    return bool(
        await identity_store.get_by_handle(q, name, None)
        or await space_store.by_name(q, name)
        or await identity_store.name_retired(q, name)
    )


async def find_identity(db: Database, directory: Directory, our_host: str, target: str) -> Identity:
    """A person (or other non-Group actor where WebFinger says): what is followed, addressed
    or shared with by handle."""
    if is_guid(target):
        ident = await identity_store.get(db, target)
        if ident is None:
            raise not_found("Identity")
        return ident
    username, domain = split_handle(target)
    if domain is None or domain == our_host.lower():
        ident = await identity_store.get_by_handle(db, username, None)
        if ident is None:
            raise not_found("Identity")
        return ident
    return await directory.resolve_handle(username, domain, "person")


async def check_reachable(q: Queryable, publisher: Publisher, ident: Identity) -> None:
    """A remote identity that what we send it (a follow request, a share) can reach: 404 when
    it is deleted (or answers 410), 403 when it is on a domain blocked since it was first seen
    (nothing would be sent, and after an unblock its pod would never have heard of it). The
    domain of its handle counts as its actor's host does: it may be another (a split domain)."""
    if ident.local:
        return
    actor = await actor_store.by_identity(q, ident.guid)
    if actor is None or actor.gone_at is not None:
        raise not_found("Identity")
    where = (actor.uri, actor.inbox, ident.domain or "")
    if any(publisher.refuses(url) for url in where):
        raise forbidden("This pod does not federate with that domain.", "domain_blocked")
