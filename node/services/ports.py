"""What services need from federation, as protocols: services never import federation itself.

The publisher turns local changes into outgoing activities inside the caller's transaction, so a
change and the deliveries it causes commit together. The directory finds remote identities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from node.store.db import Queryable, Tx
from node.store.follows import Follow
from node.store.identities import Identity, Kind
from node.store.interactions import Interaction
from node.store.posts import Post
from node.store.reactions import Reaction
from node.store.spaces import Space

if TYPE_CHECKING:  # the sharing service imports this module
    from node.services.sharing import ShareView


class Publisher(Protocol):
    def activity_id(self, guid: str) -> str:
        """The URI of a local activity (a Follow, a Like) with this GUID."""
        ...

    def post_id(self, guid: str) -> str:
        """The URI of a local post with this GUID."""
        ...

    def tag_id(self, tag: str) -> str:
        """The URL of a hashtag's page."""
        ...

    async def actor_id(self, q: Queryable, ident: Identity) -> str:
        """The actor URI of any identity we know."""
        ...

    def refuses(self, url: str) -> bool:
        """Whether `url` is on a domain this pod is blocked from (nothing is sent there)."""
        ...

    async def reaction(self, tx: Tx, reaction: Reaction, post: Post, actor: Identity) -> None: ...

    async def reaction_undone(
        self, tx: Tx, reaction: Reaction, post: Post, actor: Identity
    ) -> None: ...

    def share_id(self, guid: str) -> str:
        """The URI of a local share with this GUID."""
        ...

    async def share_granted(self, tx: Tx, view: ShareView) -> None: ...

    async def share_updated(self, tx: Tx, view: ShareView) -> None: ...

    async def share_revoked(self, tx: Tx, view: ShareView) -> None: ...

    async def share_declined(self, tx: Tx, view: ShareView) -> None:
        """Our grantee turned down a share a remote owner made: tell the owner's pod."""
        ...

    async def follow(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity
    ) -> None: ...

    async def follow_answered(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity, accepted: bool
    ) -> None: ...

    async def unfollow(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity
    ) -> None: ...

    async def post_created(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def post_updated(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def post_deleted(self, tx: Tx, post: Post, author: Identity) -> None: ...

    async def interaction(self, tx: Tx, item: Interaction, post: Post, actor: Identity) -> None: ...

    async def identity_updated(self, tx: Tx, ident: Identity) -> None:
        """One of our identities changed its profile: an Update of its actor to the pods of
        its followers, which then read it again."""
        ...

    async def identity_deleted(self, tx: Tx, ident: Identity) -> None:
        """One of our identities is being deleted (its rows are still there): what it queued is
        dropped, and a Delete of its actor goes to the pods of everyone it follows, is followed
        by or shares a space with, signed with its key, which is kept for that."""
        ...

    # --- spaces (each one a Group actor, FEP-1b12) ---

    def group_id(self, space_guid: str) -> str:
        """The Group actor URI of one of our spaces."""
        ...

    def local_group(self, uri: str) -> str | None:
        """The GUID of our space whose Group actor this URI is, or None."""
        ...

    async def space_join(
        self,
        tx: Tx,
        follow: Follow,
        member: Identity,
        group: Identity,
        code: str | None,
        message: str,
    ) -> None:
        """Ask a remote space's Group to let one of ours in: a Follow, with the invite code."""
        ...

    async def space_join_answered(
        self, tx: Tx, space: Space, member: Identity, follow_ap_id: str, accepted: bool
    ) -> None:
        """Our space's Group answers a remote identity's Follow (Reject also removes them)."""
        ...

    async def space_relay(
        self, tx: Tx, space: Space, post: Post, author: Identity, kind: str
    ) -> None:
        """Our space's Group Announces a Create, Update or Delete of a post in it to its remote
        members (but the author)."""
        ...

    async def space_interaction(
        self,
        tx: Tx,
        space: Space,
        post: Post,
        actor: Identity,
        what: Interaction | Reaction,
        undone: bool,
    ) -> None:
        """A remote member liked or reacted to a post in our space, or took it back: its Group
        Announces that to the other members' pods."""
        ...

    async def space_updated(self, tx: Tx, space: Space) -> None:
        """Our space's settings changed: its Group tells its remote members (Update of the
        actor), whose pods then read the Group again."""
        ...

    async def space_deleted(self, tx: Tx, space: Space) -> None:
        """Our space is gone: its Group tells its remote members (Delete of the actor)."""
        ...

    async def interaction_undone(
        self, tx: Tx, item: Interaction, post: Post, actor: Identity
    ) -> None: ...


@dataclass(frozen=True)
class RemoteItem:
    """An item read from its owner's pod through a share."""

    uri: str
    html: str
    text: str
    author: str
    published: str | None
    updated: str | None


class SharedItems(Protocol):
    """Reads and writes, on the owner's pod, the items a remote owner shared with one of ours.

    Every call is signed by the reader; the owner's pod checks it against the grant, so a
    revoked or expired share fails at once (ApiError 404), whatever our copy says.
    """

    async def list(self, items_uri: str, reader: Identity) -> list[RemoteItem]: ...

    async def get(self, uri: str, reader: Identity) -> RemoteItem: ...

    async def write(self, uri: str, reader: Identity, owner: Identity, body: str) -> None: ...

    async def delete(self, uri: str, reader: Identity, owner: Identity) -> None: ...


# What a handle is looked up for: a person (to follow, mention, address) or a group (a space).
# A pod may give one name to both (Lemmy: a user and a community), and WebFinger name both;
# each is stored as an identity of its kind.
ActorKind = Kind


class Directory(Protocol):
    async def resolve_handle(
        self, username: str, domain: str, kind: ActorKind | None = None
    ) -> Identity:
        """A remote identity by handle (WebFinger, then its actor); ApiError 404 if none.
        Where WebFinger names actors of both kinds, the one of `kind` is taken."""
        ...

    async def resolve_uri(self, uri: str) -> Identity:
        """A remote identity by actor URI; ApiError 404 if it cannot be fetched (unless only
        for want of an answer from its pod, when one stored, not gone, is returned)."""
        ...
