"""Emoji reactions (one per identity and post, replaceable, undoable) and private bookmarks."""

from __future__ import annotations

import unicodedata

from node.clock import Clock, iso
from node.errors import not_found, validation
from node.ids import new_guid
from node.services.access import Access
from node.services.notify import Notifier
from node.services.ports import Publisher
from node.services.principal import Principal
from node.services.spaces import relaying_space
from node.store import identities as identity_store
from node.store import posts as post_store
from node.store import reactions as reaction_store
from node.store.db import Database, Tx
from node.store.identities import Identity
from node.store.posts import Post
from node.store.reactions import Reaction

MAX_EMOJI = 16  # code points: room for ZWJ sequences and skin tones, not for text
_ZWJ = "\u200d"
_SELECTORS = ("\ufe0f", "\ufe0e")  # emoji and text presentation
_KEYCAP_BASES = "0123456789#*"
# Emoji that Unicode files as punctuation, maths or letters rather than as symbols (So).
_OTHER_PICTOGRAPHS = frozenset("‼⁉\u2139↔◻◼◽◾⤴⤵〰〽")


def _is_tone(ch: str) -> bool:
    return 0x1F3FB <= ord(ch) <= 0x1F3FF


def _is_flag_letter(ch: str) -> bool:  # regional indicators
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_tag(ch: str) -> bool:  # the letters of a subdivision flag (England, Scotland)
    return 0xE0020 <= ord(ch) <= 0xE007E


def _emoji_end(value: str, i: int) -> int | None:
    """Where the one emoji element starting at `i` ends (None: there is none): a keycap
    (`1️⃣`), a flag (two regional indicators), or a pictograph with an optional presentation
    selector and skin tone, or with the tags of a subdivision flag."""
    n = len(value)
    if i >= n:
        return None
    ch = value[i]
    if ch in _KEYCAP_BASES:
        i += 1
        if i < n and value[i] == "\ufe0f":
            i += 1
        return i + 1 if i < n and value[i] == "\u20e3" else None
    if _is_flag_letter(ch):
        return i + 2 if i + 1 < n and _is_flag_letter(value[i + 1]) else None
    if unicodedata.category(ch) != "So" and ch not in _OTHER_PICTOGRAPHS:
        return None
    i += 1
    if i < n and value[i] in _SELECTORS:
        i += 1
    if i < n and _is_tone(value[i]):
        i += 1
    elif i < n and _is_tag(value[i]):
        while i < n and _is_tag(value[i]):
            i += 1
        return i + 1 if i < n and value[i] == "\U000e007f" else None
    return i


def is_single_emoji(value: str) -> bool:
    """One emoji: an element or a ZWJ sequence of them (each with its presentation selector
    and skin tone); no letters, digits, spaces, second emoji or stray joiners and modifiers."""
    if not value or len(value) > MAX_EMOJI:
        return False
    end = _emoji_end(value, 0)
    while end is not None and end < len(value):
        if value[end] != _ZWJ:
            return False
        end = _emoji_end(value, end + 1)
    return end is not None


class ReactionService:
    def __init__(self, db: Database, clock: Clock, access: Access, publisher: Publisher) -> None:
        self._db = db
        self._clock = clock
        self._access = access
        self._publisher = publisher
        self._notify = Notifier(clock)

    async def react(self, who: Principal, post_guid: str, emoji: str) -> None:
        if not is_single_emoji(emoji):
            raise validation({"emoji": "a single emoji"})
        now = iso(self._clock.now())
        guid = new_guid()
        async with self._db.transaction() as tx:
            # Checked in the transaction: a post deleted meanwhile is 404, not a broken row.
            post = await self._access.post_for(tx, who, post_guid, needed_to="react to")
            reaction = Reaction(
                guid, post.guid, who.identity_guid, emoji, self._publisher.activity_id(guid), now
            )
            existing = await reaction_store.find(tx, post.guid, who.identity_guid)
            if existing is not None and existing.emoji == emoji:
                return  # the same reaction again changes nothing
            me = await identity_store.get(tx, who.identity_guid)
            assert me is not None
            old = await reaction_store.put(tx, reaction)
            if old is not None:
                await self._notify.forget(tx, old.guid)
                await self._publisher.reaction_undone(tx, old, post, me)
            await self._reacted(tx, reaction, post.author_guid)
            await self._publisher.reaction(tx, reaction, post, me)

    async def unreact(self, who: Principal, post_guid: str) -> None:
        post = await self._access.post_for(self._db, who, post_guid, needed_to="react to")
        async with self._db.transaction() as tx:
            old = await reaction_store.find(tx, post.guid, who.identity_guid)
            if old is None:
                raise not_found("Reaction")
            await reaction_store.delete(tx, old.guid)
            await self._notify.forget(tx, old.guid)
            me = await identity_store.get(tx, who.identity_guid)
            assert me is not None
            await self._publisher.reaction_undone(tx, old, post, me)

    async def _reacted(self, tx: Tx, reaction: Reaction, author_guid: str) -> None:
        await post_store.bump_activity(tx, reaction.post_guid, reaction.created_at)
        await self._notify(
            tx, author_guid, "reaction", reaction.identity_guid, reaction.guid,
            post=reaction.post_guid, emoji=reaction.emoji,
        )  # fmt: skip

    async def bookmark(self, who: Principal, post_guid: str) -> None:
        async with self._db.transaction() as tx:
            post = await self._access.post_for(tx, who, post_guid)  # not one deleted meanwhile
            await reaction_store.bookmark(tx, who.identity_guid, post.guid, iso(self._clock.now()))

    async def unbookmark(self, who: Principal, post_guid: str) -> None:
        post = await self._access.post_for(self._db, who, post_guid)
        async with self._db.transaction() as tx:
            if not await reaction_store.unbookmark(tx, who.identity_guid, post.guid):
                raise not_found("Bookmark")

    # --- what remote pods tell us ---

    async def remote_react(
        self,
        tx: Tx,
        actor: Identity,
        post_ap_id: str,
        emoji: str,
        ap_id: str,
        in_space: str | None = None,
    ) -> bool:
        """A remote reaction. `in_space`: the remote space whose Group relayed it, and vouches
        for the actor's membership; only a post in that space is taken then."""
        post = await post_store.by_ap_id(tx, post_ap_id)
        if post is None or not is_single_emoji(emoji):
            return False
        if in_space is not None:
            if post.space_guid != in_space:
                return False  # the Group speaks for no one outside its space
        elif not await self._access.may(tx, actor.guid, post.guid, "can_read"):
            return False
        reaction = Reaction(new_guid(), post.guid, actor.guid, emoji, ap_id, iso(self._clock.now()))
        old = await reaction_store.put(tx, reaction)
        if old is not None:
            await self._notify.forget(tx, old.guid)
        await self._reacted(tx, reaction, post.author_guid)
        await self._relay(tx, post, actor, reaction, False)
        return True

    async def remote_author_deleted(self, tx: Tx, author: Identity) -> None:
        """A remote actor deleted itself: its reactions go (what they told, with the posts
        service's `remote_author_deleted`)."""
        await reaction_store.delete_by(tx, author.guid)

    async def remote_unreact(self, tx: Tx, actor: Identity, ap_id: str) -> bool:
        reaction = await reaction_store.by_ap_id(tx, ap_id)
        if reaction is None or reaction.identity_guid != actor.guid:
            return False
        await reaction_store.delete(tx, reaction.guid)
        await self._notify.forget(tx, reaction.guid)
        post = await post_store.get(tx, reaction.post_guid)
        if post is not None:
            await self._relay(tx, post, actor, reaction, True)
        return True

    async def _relay(
        self, tx: Tx, post: Post, actor: Identity, reaction: Reaction, undone: bool
    ) -> None:
        """A member's reaction to a post in one of our spaces goes on to the other members."""
        space = await relaying_space(tx, post, actor.guid)
        if space is not None:
            await self._publisher.space_interaction(tx, space, post, actor, reaction, undone)
