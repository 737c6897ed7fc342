"""The publisher services call: builds activities and writes their deliveries in the caller's
transaction, so a change and what it sends commit together (or not at all)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from federation import convert, groups
from federation.keys import stored_public_pem
from federation.urls import Urls, host_of
from node.clock import Clock, iso
from node.ids import new_guid
from node.store import deliveries as delivery_store
from node.store import identities as identity_store
from node.store import media as media_store
from node.store import posts as post_store
from node.store import remote_actors as actor_store
from node.store import spaces as space_store
from node.store.db import Queryable, Tx
from node.store.follows import Follow
from node.store.identities import Identity
from node.store.interactions import Interaction
from node.store.posts import Post
from node.store.reactions import Reaction
from node.store.spaces import Space

if TYPE_CHECKING:
    from node.services.sharing import ShareView

# Mastodon's terms for a post's sensitive flag and its hashtags, which the ActivityStreams
# context leaves out.
SENSITIVE_CONTEXT: dict[str, str] = {"sensitive": "as:sensitive"}
HASHTAG_CONTEXT: dict[str, str] = {"Hashtag": "as:Hashtag"}
# How the id of a Group's boost of a post of its space as itself ends (see space_relay).
BOOST_SUFFIX = "-boost"


def note_context(*objs: Any) -> list[Any]:
    """The @context of a document carrying `objs` (one Note, or a page of them): ours, and the
    terms of Mastodon's that they use (none for a Tombstone)."""
    notes = [o for o in objs if isinstance(o, dict)]
    context: list[Any] = [*convert.OUR_CONTEXT]
    if any("sensitive" in o for o in notes):
        context.append(SENSITIVE_CONTEXT)
    if any("attachment" in o for o in notes):
        context.append(convert.BLURHASH_CONTEXT)
    tags = [t for o in notes for t in o.get("tag", ()) if isinstance(t, dict)]
    if any(t.get("type") == "Hashtag" for t in tags):
        context.append(HASHTAG_CONTEXT)
    return context


class Outbox:
    def __init__(
        self, urls: Urls, clock: Clock, wake: Callable[[], None], blocked: Callable[[str], bool]
    ) -> None:
        self._urls = urls
        self._clock = clock
        self._wake = wake
        self._blocked = blocked

    # ids of our objects
    def activity_id(self, guid: str) -> str:
        return self._urls.activity(guid)

    def post_id(self, guid: str) -> str:
        return self._urls.post(guid)

    def tag_id(self, tag: str) -> str:
        return self._urls.tag(tag)

    async def actor_id(self, q: Queryable, ident: Identity) -> str:
        return await self.actor_uri(q, ident)

    def refuses(self, url: str) -> bool:
        return self._blocked(url)

    async def actor_uri(self, tx: Queryable, ident: Identity) -> str:
        if ident.local:
            return self._urls.actor(ident.username)
        actor = await actor_store.by_identity(tx, ident.guid)
        assert actor is not None, "remote identities always have an actor row"
        return actor.uri

    async def _send(self, tx: Tx, doc: dict[str, Any], inboxes: list[str]) -> list[str]:
        """Queue `doc` for these inboxes; the ones it is queued for (remote, not blocked)."""
        targets = [(i, host_of(i)) for i in dict.fromkeys(inboxes) if not self._urls.is_local(i)]
        targets = [(i, h) for i, h in targets if not self._blocked(i)]
        if not targets:
            return []
        body = json.dumps(doc, separators=(",", ":"))
        await delivery_store.enqueue(
            tx, doc["id"], doc["actor"], doc["type"], body, targets, iso(self._clock.now())
        )
        self._wake()
        return [i for i, _ in targets]

    async def _inbox(self, tx: Queryable, ident: Identity) -> list[str]:
        if ident.local:
            return []
        actor = await actor_store.by_identity(tx, ident.guid)
        return [actor.inbox] if actor and actor.gone_at is None else []

    # --- follows ---

    async def follow(self, tx: Tx, follow: Follow, follower: Identity, followee: Identity) -> None:
        doc = self._follow_doc(
            follow, self._urls.actor(follower.username), await self.actor_uri(tx, followee)
        )
        await self._send(tx, doc, await self._inbox(tx, followee))

    def _follow_doc(self, follow: Follow, follower_uri: str, followee_uri: str) -> dict[str, Any]:
        return convert.activity(follow.ap_id, "Follow", follower_uri, followee_uri)

    async def follow_answered(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity, accepted: bool
    ) -> None:
        me = self._urls.actor(followee.username)
        original = self._follow_doc(follow, await self.actor_uri(tx, follower), me)
        original.pop("@context")
        kind = "Accept" if accepted else "Reject"
        doc = convert.activity(self.activity_id(new_guid()), kind, me, original)
        await self._send(tx, doc, await self._inbox(tx, follower))

    async def unfollow(
        self, tx: Tx, follow: Follow, follower: Identity, followee: Identity
    ) -> None:
        me = self._urls.actor(follower.username)
        original = self._follow_doc(follow, me, await self.actor_uri(tx, followee))
        original.pop("@context")
        doc = convert.activity(self.activity_id(new_guid()), "Undo", me, original)
        await self._send(tx, doc, await self._inbox(tx, followee))

    # --- posts ---

    async def post_audience(
        self, tx: Queryable, post: Post, author: Identity, deliver: bool = True
    ) -> tuple[list[str], list[str], list[str], dict[str, Identity], list[str]]:
        """(to, cc, inboxes, addressed, named) of a local post; `addressed` maps the actor URI
        of each person in to or cc to their identity, and `named` are the inboxes among
        `inboxes` reached for whom it names (not as followers). Without `deliver` the inboxes of
        people are left out (the post is only shown): looking up those of every follower is the
        costly part.

        A members-only post in a space goes to its Group alone, which relays it to the members
        (FEP-1b12): nobody is addressed in person, neither whom it mentions nor whom it answers,
        so no copy outside the Group's reaches a non-member, nor files it outside the space on
        a member's pod. A public space's post is everyone's to read, so it is addressed and
        sent as any public post is, besides the Group."""
        if post.space_guid and post.visibility != "public":
            to, inboxes = await self._space_audience(tx, post.space_guid, [], [])
            return to, [], inboxes, {}, []
        recipient_guids = await post_store.recipients(tx, post.guid)
        recipients = await self._actors(tx, recipient_guids)
        to, cc = convert.audience(
            post,
            self._urls.actor(author.username),
            self._urls,
            self._urls.followers(author.username),
            list(recipients),
        )
        others = [g for g in await post_store.mentions(tx, post.guid) if g not in recipient_guids]
        parent = await post_store.get(tx, post.in_reply_to_guid) if post.in_reply_to_guid else None
        parent_author = await identity_store.get(tx, parent.author_guid) if parent else None
        if parent_author is not None and await self._answers(
            tx, post, author, parent_author, recipient_guids + others
        ):
            others.append(parent_author.guid)
        mentioned = await self._actors(tx, others)
        cc += list(mentioned)
        named = (
            await actor_store.inboxes_of(tx, recipient_guids + others, self._blocked)
            if deliver
            else []
        )
        inboxes = list(named)
        if deliver and post.visibility in ("public", "followers"):
            inboxes += await actor_store.follower_inboxes(tx, author.guid, self._blocked)
        if post.space_guid:
            to, inboxes = await self._space_audience(tx, post.space_guid, to, inboxes)
        return to, cc, inboxes, recipients | mentioned, named

    async def _answers(
        self, q: Queryable, post: Post, author: Identity, parent_author: Identity, named: list[str]
    ) -> bool:
        """Whether a reply is addressed (and sent, and mentioned) to its parent's author besides
        those it names: GoToSocial keeps a post only from someone its receiver follows or that
        mentions them. Only if they may read it: a reply reaches no one its audience leaves out."""
        if parent_author.guid == author.guid or parent_author.guid in named:
            return False
        now = iso(self._clock.now())
        return await post_store.permitted(q, post.guid, parent_author.guid, "can_read", now)

    async def _actors(self, q: Queryable, guids: list[str]) -> dict[str, Identity]:
        """The identities still there of these guids, by actor URI, in order."""
        out: dict[str, Identity] = {}
        for guid in guids:
            ident = await identity_store.get(q, guid)
            if ident is not None:
                out[await self.actor_uri(q, ident)] = ident
        return out

    async def published_note(self, q: Queryable, post: Post, author: Identity) -> dict[str, Any]:
        """A local post as a Note, to be shown (served at its id, in an outbox), not sent."""
        note, _, _ = await self.note(q, post, author, deliver=False)
        return note

    async def note(
        self, q: Queryable, post: Post, author: Identity, deliver: bool = True
    ) -> tuple[dict[str, Any], list[str], list[str]]:
        """A local post as a Note (audience, attachments, mentions, hashtags), its inboxes (none
        but a remote space's Group's without `deliver`) and those of them reached for whom it
        names (see `post_audience`).

        Everyone in to or cc is mentioned, not only the names in the text: GoToSocial keeps a
        post (a direct one above all) only if it mentions its receiver or they follow its author.
        """
        to, cc, inboxes, addressed, named_inboxes = await self.post_audience(
            q, post, author, deliver
        )
        # Whom the text names are mentioned even where they are not addressed (a members-only
        # post in a space): their pods tell only those who may read it.
        named = await self._actors(q, await post_store.mentions(q, post.guid))
        tags: list[dict[str, Any]] = [
            convert.mention(uri, ident.username, ident.domain or self._urls.host)
            for uri, ident in (addressed | named).items()
        ]
        for tag in (await post_store.tags(q, [post.guid])).get(post.guid, []):
            tags.append({"type": "Hashtag", "href": self._urls.tag(tag), "name": f"#{tag}"})
        note = convert.note_to_as(
            post, self._urls.actor(author.username), to, cc, await self.note_attachments(q, post)
        )
        if tags:
            note["tag"] = tags
        if post.space_guid:
            note["audience"] = await self._space_uri(q, post.space_guid)
        return note, inboxes, named_inboxes

    async def _post_activity(self, tx: Tx, kind: str, post: Post, author: Identity) -> None:
        obj, inboxes, named = await self.note(tx, post, author)
        actor = self._urls.actor(author.username)
        to, cc = obj["to"], obj["cc"]
        # Pods the post was sent to for whom it named (addressed, mentioned, answered) that
        # its audience no longer reaches (an edit dropped them) hear of its Update and Delete
        # too, or keep their copy for ever: Mastodon keeps removed mentions as silent ones
        # for this. Followers' inboxes are not recorded (a row per follower pod per post);
        # as on Mastodon, a pod whose people all stopped following keeps what it had. Only
        # the delivery widens: the addressing stays the current audience.
        current = set(inboxes)
        former = (
            []  # a new post was sent nowhere yet
            if kind == "Create"
            else [i for i in await post_store.sent_inboxes(tx, post.guid) if i not in current]
        )
        if (
            kind == "Delete"
            and post.visibility == "space"
            and await post_store.once_public(tx, post.guid)
        ):
            # Its author's followers' pods got it while its space was public.
            followers = await actor_store.follower_inboxes(tx, author.guid, self._blocked)
            former += [i for i in followers if i not in current and i not in former]
        if kind == "Delete" or (kind == "Update" and post.visibility == "public"):
            # Pods whose people liked, reshared, reacted to or answered the post hold it too
            # (fetched through someone's reshare, say), following its author or not: as on
            # Mastodon, they hear of its edits while it is public, and of its Delete.
            engaged = await actor_store.engaged_inboxes(tx, post.guid)
            former += [i for i in engaged if i not in current and i not in former]
        if former and (kind == "Delete" or post.visibility != "public"):
            # Not the new text where nobody may read it any more, and not whom the post now
            # addresses: a Tombstone, addressed as Mastodon addresses any Delete.
            await self._tombstone(tx, post, actor, former)
            await post_store.forget_sent_inboxes(tx, post.guid, former)
            former = []
        if kind == "Delete":
            obj = {"id": post.ap_id, "type": "Tombstone"}
        doc = convert.activity(self.activity_id(new_guid()), kind, actor, obj, to=to, cc=cc)
        doc["@context"] = note_context(obj)
        if kind == "Create":
            doc["published"] = post.created_at
        space = await space_store.get(tx, post.space_guid) if post.space_guid else None
        boosted = []
        if (
            space is not None
            and space.local
            and kind != "Create"
            and (
                post.visibility == "public"
                or (kind == "Delete" and await delivery_store.was_queued(tx, self._boost_id(post)))
            )
        ):
            # Pods that took the post from the Group's boost of it (Mastodon, Pleroma) take no
            # Announce of its Update or Delete: they hear the author's own. A Delete goes even
            # once the post is no longer public (its space went private), where it was boosted.
            boosted = await space_store.remote_member_inboxes(tx, space.guid, [author.guid])
        sent = await self._send(tx, doc, inboxes + former + boosted)
        if kind != "Delete":
            in_person = set(named)
            await post_store.add_sent_inboxes(tx, post.guid, [i for i in sent if i in in_person])
        if space is not None and space.local:
            await self.space_relay(tx, space, post, author, kind)

    async def _tombstone(self, tx: Tx, post: Post, actor: str, inboxes: list[str]) -> None:
        tombstone = {"id": post.ap_id, "type": "Tombstone"}
        doc = convert.activity(
            self.activity_id(new_guid()), "Delete", actor, tombstone, to=[convert.AS_PUBLIC]
        )
        doc["@context"] = note_context(tombstone)
        await self._send(tx, doc, inboxes)

    async def note_attachments(self, q: Queryable, post: Post) -> list[dict[str, Any]]:
        """A local post's attachments as ActivityStreams Image objects."""
        items = (await media_store.attachments_of(q, [post.guid])).get(post.guid, [])
        return [convert.attachment_to_as(a, a.url_on(self._urls.base)) for a in items]

    async def post_created(self, tx: Tx, post: Post, author: Identity) -> None:
        await self._post_activity(tx, "Create", post, author)

    async def post_updated(self, tx: Tx, post: Post, author: Identity) -> None:
        await self._post_activity(tx, "Update", post, author)

    async def post_deleted(self, tx: Tx, post: Post, author: Identity) -> None:
        await self._post_activity(tx, "Delete", post, author)

    # --- likes and reshares ---

    def _interaction_doc(
        self, item: Interaction, post: Post, actor_uri: str, author_uri: str, followers: str
    ) -> dict[str, Any]:
        if item.kind == "like":
            return convert.activity(item.ap_id, "Like", actor_uri, post.ap_id, to=[author_uri])
        return convert.activity(
            item.ap_id, "Announce", actor_uri, post.ap_id,
            to=[convert.AS_PUBLIC], cc=[author_uri, followers], published=item.created_at,
        )  # fmt: skip

    async def _interaction_targets(
        self, tx: Tx, item: Interaction, post: Post, actor: Identity
    ) -> tuple[dict[str, Any], list[str]]:
        author = await identity_store.get(tx, post.author_guid)
        assert author is not None
        actor_uri = await self.actor_uri(tx, actor)  # a remote member's, relayed by a Group
        doc = self._interaction_doc(
            item,
            post,
            actor_uri,
            await self.actor_uri(tx, author),
            self._urls.followers(actor.username),
        )
        inboxes = await self._inbox(tx, author)
        if item.kind == "reshare":
            inboxes += await actor_store.follower_inboxes(tx, actor.guid, self._blocked)
        return doc, inboxes

    async def interaction(self, tx: Tx, item: Interaction, post: Post, actor: Identity) -> None:
        doc, inboxes = await self._interaction_targets(tx, item, post, actor)
        if item.kind == "like":
            await self._send_in_space(tx, doc, inboxes, post, actor)
        else:
            await self._send(tx, doc, inboxes)

    async def interaction_undone(
        self, tx: Tx, item: Interaction, post: Post, actor: Identity
    ) -> None:
        original, inboxes = await self._interaction_targets(tx, item, post, actor)
        original.pop("@context")
        doc = convert.activity(self.activity_id(new_guid()), "Undo", original["actor"], original)
        if item.kind == "like":
            await self._send_in_space(tx, doc, inboxes, post, actor)
        else:
            await self._send(tx, doc, inboxes)

    # --- shares ---

    def share_id(self, guid: str) -> str:
        return self._urls.share(guid)

    async def _share_doc(self, tx: Queryable, view: ShareView) -> dict[str, Any]:
        share = view.share
        return convert.share_to_as(
            share.ap_id,
            await self.actor_uri(tx, view.owner),
            await self.actor_uri(tx, view.grantee),
            share.scope,
            view.label_names,
            [self._urls.post(i) for i in share.item_ids],
            {p: getattr(share, p) for p in ("can_read", "can_write", "can_delete", "can_share")},
            share.expires_at,
            share.created_at,
            share.updated_at,
        )

    async def _share_activity(self, tx: Tx, kind: str, view: ShareView, obj: Any) -> None:
        # From the owner, whoever granted it (a re-share is made within the owner's grant):
        # the grantee's pod takes a share only from the actor it is attributed to.
        actor = await self.actor_uri(tx, view.owner)
        grantee = await self.actor_uri(tx, view.grantee)
        doc = convert.activity(self.activity_id(new_guid()), kind, actor, obj, to=[grantee])
        doc["@context"] = [*convert.OUR_CONTEXT, convert.SHARE_CONTEXT]
        await self._send(tx, doc, await self._inbox(tx, view.grantee))

    async def share_granted(self, tx: Tx, view: ShareView) -> None:
        await self._share_activity(tx, "Create", view, await self._share_doc(tx, view))

    async def share_updated(self, tx: Tx, view: ShareView) -> None:
        await self._share_activity(tx, "Update", view, await self._share_doc(tx, view))

    async def share_revoked(self, tx: Tx, view: ShareView) -> None:
        tombstone = {"id": view.share.ap_id, "type": "Tombstone"}
        await self._share_activity(tx, "Delete", view, tombstone)

    async def share_declined(self, tx: Tx, view: ShareView) -> None:
        me = self._urls.actor(view.grantee.username)
        doc = convert.activity(self.activity_id(new_guid()), "Reject", me, view.share.ap_id)
        doc["@context"] = [*convert.OUR_CONTEXT, convert.SHARE_CONTEXT]
        await self._send(tx, doc, await self._inbox(tx, view.granted_by))

    # --- emoji reactions ---

    async def _reaction_doc(
        self, tx: Tx, reaction: Reaction, post: Post, actor: Identity
    ) -> tuple[dict[str, Any], list[str]]:
        author = await identity_store.get(tx, post.author_guid)
        assert author is not None
        doc = convert.activity(
            reaction.ap_id, "EmojiReact", await self.actor_uri(tx, actor), post.ap_id,
            to=[await self.actor_uri(tx, author)], content=reaction.emoji,
        )  # fmt: skip
        return doc, await self._inbox(tx, author)

    async def reaction(self, tx: Tx, reaction: Reaction, post: Post, actor: Identity) -> None:
        doc, inboxes = await self._reaction_doc(tx, reaction, post, actor)
        await self._send_in_space(tx, doc, inboxes, post, actor)

    async def reaction_undone(
        self, tx: Tx, reaction: Reaction, post: Post, actor: Identity
    ) -> None:
        original, inboxes = await self._reaction_doc(tx, reaction, post, actor)
        original.pop("@context")
        doc = convert.activity(self.activity_id(new_guid()), "Undo", original["actor"], original)
        await self._send_in_space(tx, doc, inboxes, post, actor)

    async def identity_updated(self, tx: Tx, ident: Identity) -> None:
        inboxes = await actor_store.follower_inboxes(tx, ident.guid, self._blocked)
        uri = self._urls.actor(ident.username)
        # Remote followers read the actor before following, and serving it made its key.
        pem = await stored_public_pem(tx, uri) if inboxes else None
        if pem is None:
            return
        avatar = (await media_store.avatars_of(tx, [ident.guid])).get(ident.guid)
        doc = convert.person_to_as(ident, self._urls, pem, avatar)
        await self._actor_updated(tx, doc, self._urls.followers(ident.username), inboxes)

    async def identity_deleted(self, tx: Tx, ident: Identity) -> None:
        uri = self._urls.actor(ident.username)
        # Nothing the actor queued goes out any more, and nothing it sent stays stored.
        await delivery_store.forget_actor(tx, uri)
        # Pods that know the actor read it, and serving it made its key: without one nobody
        # else knows it. The key stays to sign the Delete (its retries too); the name is
        # retired with the identity, so no one else ever holds the actor or its key.
        if await stored_public_pem(tx, uri) is None:
            return
        doc = convert.activity(
            self.activity_id(new_guid()), "Delete", uri, uri, to=[convert.AS_PUBLIC]
        )
        # Pods that its posts named (a direct post, a reply) hold them too, follows or not.
        named = await post_store.sent_inboxes_of_author(tx, ident.guid)
        await self._send(tx, doc, await actor_store.acquainted_inboxes(tx, ident.guid) + named)

    async def _actor_updated(
        self, tx: Tx, actor: dict[str, Any], audience: str, inboxes: list[str]
    ) -> None:
        context = actor.pop("@context")
        doc = convert.activity(
            self.activity_id(new_guid()), "Update", actor["id"], actor, to=[audience]
        )
        doc["@context"] = context
        await self._send(tx, doc, inboxes)

    # --- spaces: each one a Group actor (FEP-1b12) ---

    def group_id(self, space_guid: str) -> str:
        return self._urls.group(space_guid)

    def local_group(self, uri: str) -> str | None:
        return self._urls.local_group_guid(uri)

    async def _space_uri(self, q: Queryable, space_guid: str) -> str:
        space = await space_store.get(q, space_guid)
        if space is None or space.local:
            return self._urls.group(space_guid)
        actor = await actor_store.by_identity(q, space.actor_guid or "")
        return actor.uri if actor else self._urls.group(space_guid)

    async def _space_audience(
        self, q: Queryable, space_guid: str, to: list[str], inboxes: list[str]
    ) -> tuple[list[str], list[str]]:
        """A post in a space is addressed to its Group; a remote Group gets it in its inbox
        and relays it to the members (ours relays in space_relay)."""
        space = await space_store.get(q, space_guid)
        if space is None:
            return to, inboxes
        if not space.local:
            actor = await actor_store.by_identity(q, space.actor_guid or "")
            if actor is not None and actor.gone_at is None:
                inboxes = [*inboxes, actor.inbox]
        return [*to, await self._space_uri(q, space.guid)], inboxes

    async def space_relay(
        self, tx: Tx, space: Space, post: Post, author: Identity, kind: str
    ) -> None:
        group = self._urls.group(space.guid)
        author_uri = await self.actor_uri(tx, author)
        members = self._urls.group_members(space.guid)
        to = [convert.AS_PUBLIC, group] if post.visibility == "public" else [group]
        inner_id = f"{post.ap_id}#{kind.lower()}-{post.updated_at}"
        if kind == "Delete":
            obj: Any = {"id": post.ap_id, "type": "Tombstone"}
        elif post.local:
            obj = await self.published_note(tx, post, author)
        else:
            items = (await media_store.attachments_of(tx, [post.guid])).get(post.guid, [])
            attachments = [convert.attachment_to_as(a, a.url_on(self._urls.base)) for a in items]
            obj = convert.note_to_as(post, author_uri, to, [members], attachments)
            obj["audience"] = group
        inner = convert.activity(inner_id, kind, author_uri, obj, to=to, cc=[members])
        inner.pop("@context")
        doc = convert.activity(
            self.activity_id(new_guid()), "Announce", group, inner, to=to, cc=[members]
        )
        doc["@context"] = note_context(obj)
        # The author's pod has the post already; everyone else hears it from the Group.
        inboxes = await space_store.remote_member_inboxes(tx, space.guid, [author.guid])
        await self._send(tx, doc, inboxes)
        # Mastodon and Pleroma take no Announce of a Create: a new public post is also
        # Announced as itself (as Lemmy does), which they fetch, so that their people who
        # follow the Group see it; our pods skip it once they have the post. A deleted post's
        # boost is undone, as they take no Announce of a Delete either: whatever the post's
        # visibility now (its space may have gone private since), and once.
        boost_id = self._boost_id(post)
        boost = convert.activity(boost_id, "Announce", group, post.ap_id, to=to, cc=[members])
        if kind == "Create" and post.visibility == "public":
            await self._send(tx, boost, inboxes)
        elif (
            kind == "Delete"
            and await delivery_store.was_queued(tx, boost_id)
            and not await delivery_store.was_queued(tx, f"{boost_id}#undo")
        ):
            boost.pop("@context")
            undo = convert.activity(f"{boost_id}#undo", "Undo", group, boost, to=to)
            await self._send(tx, undo, inboxes)

    def _boost_id(self, post: Post) -> str:
        """The id of our Group's Announce of a post of its space as itself (see space_relay)."""
        return self.activity_id(f"{post.guid}{BOOST_SUFFIX}")

    async def _send_in_space(
        self, tx: Tx, doc: dict[str, Any], inboxes: list[str], post: Post, actor: Identity
    ) -> None:
        """Send a like or a reaction (or its Undo) of a post. In a space its Group tells the
        members' pods (FEP-1b12): a remote space's Group is sent it too, ours Announces it."""
        space = await space_store.get(tx, post.space_guid) if post.space_guid else None
        if space is not None and not space.local:
            group = await actor_store.by_identity(tx, space.actor_guid or "")
            if group is not None and group.gone_at is None:
                inboxes = [*inboxes, group.inbox]
        await self._send(tx, doc, inboxes)
        if space is not None and space.local:
            await self._space_announce(tx, space, post, doc, actor)

    async def space_interaction(
        self,
        tx: Tx,
        space: Space,
        post: Post,
        actor: Identity,
        what: Interaction | Reaction,
        undone: bool,
    ) -> None:
        if isinstance(what, Reaction):
            doc, _ = await self._reaction_doc(tx, what, post, actor)
        else:
            doc, _ = await self._interaction_targets(tx, what, post, actor)
        doc.pop("@context")
        if undone:
            # Their own Undo is not kept: this one is named after what it undoes.
            doc = convert.activity(f"{what.ap_id}#undo", "Undo", doc["actor"], doc)
            doc.pop("@context")
        await self._space_announce(tx, space, post, doc, actor)

    async def _space_announce(
        self, tx: Tx, space: Space, post: Post, inner: dict[str, Any], actor: Identity
    ) -> None:
        """Our space's Group Announces what `actor` did to a post in it to the members' pods,
        but the actor's own (which sent it)."""
        group = self._urls.group(space.guid)
        members = self._urls.group_members(space.guid)
        to = [convert.AS_PUBLIC, group] if post.visibility == "public" else [group]
        inner = {k: v for k, v in inner.items() if k != "@context"}
        doc = convert.activity(
            self.activity_id(new_guid()), "Announce", group, inner, to=to, cc=[members]
        )
        await self._send(
            tx, doc, await space_store.remote_member_inboxes(tx, space.guid, [actor.guid])
        )

    async def space_join(
        self,
        tx: Tx,
        follow: Follow,
        member: Identity,
        group: Identity,
        code: str | None,
        message: str,
    ) -> None:
        doc = groups.join_doc(
            follow.ap_id,
            self._urls.actor(member.username),
            await self.actor_uri(tx, group),
            code,
            message,
        )
        await self._send(tx, doc, await self._inbox(tx, group))

    async def space_join_answered(
        self, tx: Tx, space: Space, member: Identity, follow_ap_id: str, accepted: bool
    ) -> None:
        group = self._urls.group(space.guid)
        original = {
            "id": follow_ap_id,
            "type": "Follow",
            "actor": await self.actor_uri(tx, member),
            "object": group,
        }
        kind = "Accept" if accepted else "Reject"
        doc = convert.activity(self.activity_id(new_guid()), kind, group, original)
        await self._send(tx, doc, await self._inbox(tx, member))

    async def space_updated(self, tx: Tx, space: Space) -> None:
        inboxes = await space_store.remote_member_inboxes(tx, space.guid, [])
        group = self._urls.group(space.guid)
        # Remote members read the Group's actor before joining, and serving it made its key.
        pem = await stored_public_pem(tx, group) if inboxes else None
        if pem is None:
            return
        actor = groups.group_to_as(space, self._urls, pem, space.created_at)
        await self._actor_updated(tx, actor, self._urls.group_members(space.guid), inboxes)

    async def space_deleted(self, tx: Tx, space: Space) -> None:
        group = self._urls.group(space.guid)
        doc = convert.activity(
            self.activity_id(new_guid()), "Delete", group, group,
            to=[self._urls.group_members(space.guid)],
        )  # fmt: skip
        await self._send(tx, doc, await space_store.remote_member_inboxes(tx, space.guid, []))
