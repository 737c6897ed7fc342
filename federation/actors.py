"""Remote actors: resolve by handle (WebFinger) or URI, cache them, find and refresh their keys."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from federation.client import JRD_ACCEPT, FederationClient, FetchError
from federation.convert import ACTOR_TYPES, ActorDoc, InvalidDocument, actor_from_as, type_of
from federation.jsonld import normalize
from federation.refetch import FailedFetches, RefetchLimit
from federation.urls import Urls, host_of, odd_authority, same_origin
from node.clock import Clock, iso, parse_iso
from node.errors import ApiError, not_found
from node.ids import new_guid
from node.services.ports import ActorKind
from node.services.rules import has_visible, remote_username_ok
from node.services.text import html_to_text, profile_line, profile_text, sanitize_html
from node.store import identities as identity_store
from node.store import media as media_store
from node.store import remote_actors as actor_store
from node.store.db import Database
from node.store.identities import Identity
from node.store.remote_actors import RemoteActor
from node.urls import handle_domain, handle_host
from node.workers import Changes

# Profiles are refreshed when older than this; keys are refreshed on a failed verification,
# as often as the directory's RefetchLimit allows.
STALE_AFTER = timedelta(days=2)
KEY_CACHE_SECONDS = 300.0
KEY_CACHE_SIZE = 10_000
# Unknown keys of one host fetched at once (as the client's connections per host for fetches):
# a flood of made-up key ids on a host that never answers waits here, not in the shared pool.
KEY_FETCHES_PER_HOST = 4
JRD_TYPES = ("application/jrd+json", "application/json")
# The WebFinger link property by which Lemmy tells a person's self link from a community's.
AS_TYPE_PROPERTY = "https://www.w3.org/ns/activitystreams#type"
# The longest WebFinger subject read (`acct:` and a handle).
MAX_SUBJECT = 300
# A remote profile field's name and value are kept to this many characters, as local ones.
FIELD_CHARS = 255


class ActorDirectory:
    def __init__(
        self,
        db: Database,
        client: FederationClient,
        urls: Urls,
        clock: Clock,
        try_http: bool,
        refetches: RefetchLimit,
        failures: FailedFetches,
        fetch_timeout: float = 10.0,
        key_changes: Changes | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._urls = urls
        self._clock = clock
        # Plain-HTTP WebFinger only where private addresses are allowed (development, tests).
        self._schemes = ("http", "https") if try_http else ("https",)
        self._inflight: dict[str, asyncio.Future[Identity]] = {}
        # key id → (when cached, actor, identity): signed requests come in bursts from the
        # same few actors; a failed verification refetches, so staleness costs one retry.
        self._keys: OrderedDict[str, tuple[float, RemoteActor, Identity]] = OrderedDict()
        # Marked when any process of the pod stores a known actor's new key: every process
        # then drops its cached keys, or the others would go on verifying with the old one.
        self._key_changes = key_changes or Changes()
        self._keys_mark = self._key_changes.mark
        self._refetches = refetches  # how often a failed verification may fetch a key again
        self._failures = failures  # unknown key ids that failed to fetch lately
        self._fetch_timeout = fetch_timeout  # also the longest wait for a host's key slot
        # host → (its slots for key fetches, requests holding or waiting for one); an entry
        # lives only while someone uses it, so hosts come and go without memory piling up.
        self._key_slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}
        # (username, domain, kind asked for) -> the actor of the other kind WebFinger named
        # first for that handle and kind: see `resolve_handle`.
        self._other_kind_only: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    async def resolve_handle(
        self, username: str, domain: str, kind: ActorKind | None = None
    ) -> Identity:
        known = await identity_store.get_by_handle(self._db, username, domain, kind)
        if known is None and kind is not None:
            # Held by the other kind alone (a group mentioned as a person): see below.
            known = await identity_store.get_by_handle(self._db, username, domain)
        actor = await actor_store.by_identity(self._db, known.guid) if known else None
        # A deleted actor (or one whose inbox answered 410) is asked for again, and found only
        # if its host serves it again; it is never answered from what we stored.
        gone = actor is not None and actor.gone_at is not None
        fresh = actor is not None and self._clock.now() - parse_iso(actor.fetched_at) < STALE_AFTER
        # Only a handle WebFinger gave before is answered with unasked: an actor stored from
        # its own document (an inbox post) names its username itself, and a file on its
        # origin could claim one nobody there has yet.
        checked = actor is not None and actor.handle_checked_at is not None and not gone
        # A handle held by an actor of the other kind alone (a Group asked for as a person)
        # is answered with it only where WebFinger named none of the kind asked for lately:
        # Lemmy's user is another actor than its community of the same name.
        if actor is not None and known is not None and kind is not None and known.kind != kind:
            other_kind = (username.lower(), domain.lower(), kind)
            checked = checked and self._other_kind_only.get(other_kind) == actor.uri
        else:
            other_kind = None
        if known is not None and fresh and checked:
            return known
        try:
            subject, links = await self._webfinger(username, domain, kind)
        except FetchError as exc:
            if known is not None and checked:
                return known
            raise ApiError(404, "not_found", f"Could not find {username}@{domain}.") from exc
        actor_uri = links[0] if links else None
        if other_kind is not None and actor is not None and actor_uri == actor.uri:
            # None of the kind asked for ahead of it (a group mentioned as a person): what we
            # hold is the answer, without asking again at every mention.
            self._other_kind_only[other_kind] = actor.uri
            while len(self._other_kind_only) > KEY_CACHE_SIZE:
                self._other_kind_only.popitem(last=False)
        elif other_kind is not None:
            self._other_kind_only.pop(other_kind, None)
        if actor_uri is None:
            raise not_found("Identity")
        try:
            handle = await self._handle_of(username, domain.lower(), subject, actor_uri, kind)
        except FetchError as exc:
            raise not_found("Identity") from exc
        if handle is None:
            raise not_found("Identity")
        handle_domain, confirmed = handle
        wanted = (username, handle_domain)
        if gone and actor is not None and actor_uri == actor.uri:
            found = await self._fetch_shared(actor_uri, wanted)
        else:
            found = await self.resolve_uri(actor_uri, wanted)
        if found.local or found.username.lower() != username.lower():
            return found
        if found.domain != handle_domain and not confirmed:
            return found
        async with self._db.transaction() as tx:
            if found.domain != handle_domain:
                # Known under another handle (its host's, seen first through its document):
                # WebFinger at both ends gave it this one now.
                found = await actor_store.take_handle(tx, found.guid, handle_domain)
            await actor_store.handle_checked(tx, found.guid, iso(self._clock.now()))
        return found

    async def _handle_of(
        self,
        username: str,
        domain: str,
        subject: tuple[str, str] | None,
        actor_uri: str,
        kind: ActorKind | None,
    ) -> tuple[str, bool] | None:
        """The domain of the handle of `actor_uri`, which WebFinger at `domain` named for
        `username@domain` (its answer's `subject`), and whether WebFinger confirmed it; None
        when the handle is refused.

        A handle may name a domain other than its actor's host (Mastodon's LOCAL_DOMAIN beside
        WEB_DOMAIN: `simon@simonwillison.net` whose actor is on fedi.simonwillison.net). Such
        a handle is taken only where both say so, as Mastodon has it: the handle's domain
        names the actor for it, and the actor's host gives that handle as its actor's (its
        answer's subject), so neither a host claiming another's actors nor one claiming
        another's handles is believed. One more WebFinger at most; without the confirmation,
        the handle is the one of the actor's host, as for any actor, or refused."""
        host = handle_host(actor_uri)
        plain = (domain, False) if host == domain else None
        if subject is None or subject[0].lower() != username.lower():
            return plain
        canonical = subject[1]
        if canonical == domain:
            if host == domain:
                return domain, True
            # The handle's domain named the actor; its host must give it the handle too.
            said = await self._names(username, host, subject, actor_uri, kind)
            return (domain, True) if said else None
        # The answer names another handle as the actor's: that handle's domain must name the
        # actor for it too. Asked at the actor's host (which gives its handle), or at a
        # domain pointing to the actor's host's own handle.
        if host in (domain, canonical) and await self._names(
            subject[0], canonical, subject, actor_uri, kind
        ):
            return canonical, True
        return plain

    async def _names(
        self,
        username: str,
        domain: str,
        subject: tuple[str, str],
        actor_uri: str,
        kind: ActorKind | None,
    ) -> bool:
        """Whether WebFinger at `domain` for `username@domain` answers with `subject` and
        names `actor_uri` first. FetchError when `domain` is blocked: an account whose handle
        or actor is on a blocked domain is refused, not taken under the other one."""
        try:
            said, links = await self._webfinger(username, domain, kind)
        except FetchError as exc:
            if exc.code == "domain_blocked":
                raise
            return False
        same = said is not None and said[0].lower() == subject[0].lower()
        return same and said[1] == subject[1] and links[:1] == [actor_uri]

    async def _webfinger(
        self, username: str, domain: str, kind: ActorKind | None = None
    ) -> tuple[tuple[str, str] | None, list[str]]:
        """The handle WebFinger's answer for `username@domain` names as its subject (None
        when it names none it can be) and the actors it names, from the first scheme that
        answers, those it says are of `kind` first; the last FetchError if none does."""
        resource = quote(f"acct:{username}@{domain}")
        last: FetchError | None = None
        for scheme in self._schemes:
            url = f"{scheme}://{domain}/.well-known/webfinger?resource={resource}"
            try:
                jrd = await self._client.get_json(
                    url, accept=JRD_ACCEPT, as_types=JRD_TYPES, off_origin=True
                )
            except FetchError as exc:
                last = exc
                continue
            return _subject(jrd), _self_links(jrd, kind)
        raise last or FetchError("bad_url", "no scheme to ask")

    async def resolve_uri(self, uri: str, handle: tuple[str, str] | None = None) -> Identity:
        """See `Directory.resolve_uri`; `handle` is the one WebFinger gave the actor, if any
        (`_check_handle`)."""
        if self._urls.is_local(uri):
            username = self._urls.local_username(uri)
            ident = (
                await identity_store.get_by_handle(self._db, username, None) if username else None
            )
            if ident is None:
                raise not_found("Identity")
            return ident
        actor = await actor_store.by_uri(self._db, uri)
        # A gone actor is asked for again, as by `resolve_handle`: what names it as author or
        # actor (a Group relaying it, late) does not bring it back unless its pod serves it.
        fresh = actor and self._clock.now() - parse_iso(actor.fetched_at) < STALE_AFTER
        if actor and fresh and actor.gone_at is None:
            ident = await identity_store.get(self._db, actor.identity_guid)
            if ident is not None:
                return ident
        try:
            return await self._fetch_shared(uri, handle)
        except ApiError as exc:
            # Its pod not answering now (a timeout, a 5xx) does not make a known actor unknown,
            # as `resolve_handle` has it: what names it is not refused for that, with a 404
            # its sender takes as final. A document that is gone, or no actor, is not.
            if actor is None or actor.gone_at is not None or not _unanswered(exc.__cause__):
                raise
            ident = await identity_store.get(self._db, actor.identity_guid)
            if ident is None:
                raise
            return ident

    async def _fetch_shared(self, uri: str, handle: tuple[str, str] | None = None) -> Identity:
        # Concurrent requests for one actor (a burst of inbox posts) share one fetch.
        pending = self._inflight.get(uri)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Identity] = asyncio.get_running_loop().create_future()
        self._inflight[uri] = future
        try:
            ident = (await self._fetch_parsed(uri, handle))[1]
            future.set_result(ident)
            return ident
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited future does not warn
            raise
        finally:
            del self._inflight[uri]

    async def _fetch_parsed(
        self, uri: str, handle: tuple[str, str] | None = None
    ) -> tuple[ActorDoc, Identity]:
        try:
            parsed = actor_from_as(await self._actor_document(uri))
            domain = await self._check_handle(parsed, handle)
        except (FetchError, InvalidDocument, ValueError) as exc:
            raise ApiError(404, "not_found", "The remote identity could not be fetched.") from exc
        return parsed, await self._store(parsed, domain)

    async def alias_of(self, uri: str, alias: str) -> Identity | None:
        """The actor `uri`, fetched now, if its document names `alias` among its other ids
        (`alsoKnownAs`): how an account that says it moved there is believed (Mastodon asks
        the same). None when it does not."""
        parsed, ident = await self._fetch_parsed(uri)
        return ident if alias in parsed.also_known_as else None

    async def _check_handle(self, parsed: ActorDoc, handle: tuple[str, str] | None = None) -> str:
        """The domain of the handle to store a new actor under: its host's, or the one
        WebFinger gave it (`handle`, from a lookup, or asked now; see `_handle_of`).

        InvalidDocument when another actor of its kind we know holds the handle the document
        claims, unless WebFinger now gives the handle to this actor and not to that one (it
        moved). One of the other kind is no clash: Lemmy's user and community share a name.
        Any document an origin serves with an ActivityStreams type (a file a user put there)
        may name itself and any username; storing it takes the handle over from the actor
        that has it, and what was that actor's goes. As Mastodon does, the origin's
        WebFinger says which actor a handle is."""
        domain = handle_host(parsed.uri)
        given = handle is not None and handle[0].lower() == parsed.username.lower()
        if handle is not None and given and handle[1] != domain:
            return handle[1]  # both ends confirmed it: `_handle_of`
        kind = _kind(parsed.actor_type)
        holder = await identity_store.get_by_handle(self._db, parsed.username, domain, kind)
        held_by = await actor_store.by_identity(self._db, holder.guid) if holder else None
        clash = held_by is not None and held_by.uri != parsed.uri
        # A new actor's host may give it a handle on another domain: asked once, when it is
        # first seen (what is stored keeps its handle; a lookup of the other one moves it).
        new = not given and await actor_store.by_uri(self._db, parsed.uri) is None
        if not clash and not new:
            return domain
        try:
            subject, links = await self._webfinger(parsed.username, domain, kind)
        except FetchError:
            if clash:
                raise
            return domain
        if clash and held_by is not None and (parsed.uri not in links or held_by.uri in links):
            raise InvalidDocument("another actor holds the handle this one claims")
        # Held by an actor we know under a handle on another domain (a split domain), or as
        # the other kind (a Group claiming a person's name): WebFinger gives it to that one,
        # and names no other of this kind (Lemmy's user and community it names both).
        if (
            not clash
            and links
            and parsed.uri not in links
            and await actor_store.by_uri(self._db, links[0]) is not None
        ):
            raise InvalidDocument("another actor holds the handle this one claims")
        if new and links[:1] == [parsed.uri]:
            split = await self._handle_of(parsed.username, domain, subject, parsed.uri, kind)
            if split is not None:
                return split[0]
        return domain

    async def _actor_document(self, uri: str) -> dict[str, Any]:
        """The document of the actor `uri` names, as the actor's own URL serves it.

        A document elsewhere (a profile page, GoToSocial's `{actor}/main-key` stub, a key
        document naming its `owner`, or a file anyone could put on that origin) only points
        to an actor on its origin; that actor's URL is fetched, and its document must carry
        that very id. Trusting the first document would let any URL of an origin replace the
        key of any actor there.
        """
        doc = normalize(await self._client.get_json(uri))
        claimed = doc.get("id")
        owner = doc.get("owner")
        if claimed == uri and type_of(doc) not in ACTOR_TYPES and isinstance(owner, str):
            claimed = owner  # a key document
        if claimed == uri:
            return doc
        if not isinstance(claimed, str) or not same_origin(claimed, uri):
            raise InvalidDocument("the document is another origin's")
        doc = normalize(await self._client.get_json(claimed))
        if doc.get("id") != claimed:
            raise InvalidDocument("the actor's document names another id")
        return doc

    async def _store(self, parsed: ActorDoc, domain: str) -> Identity:
        """Store the actor; a new one under the handle `parsed.username@domain`."""
        now = iso(self._clock.now())
        ident = Identity(
            guid=new_guid(),
            account_guid=None,
            username=parsed.username,
            domain=domain,
            display_name=_shown_name(parsed),
            bio=profile_text(html_to_text(sanitize_html(parsed.summary_html))),
            fields=[_field(name, value) for name, value in parsed.fields],
            locked=parsed.locked,
            discoverable=parsed.discoverable,
            created_at=now,
            updated_at=now,
            uri=parsed.uri,
            kind=_kind(parsed.actor_type),
        )
        actor = RemoteActor(
            identity_guid=ident.guid,
            uri=parsed.uri,
            actor_type=parsed.actor_type,
            inbox=parsed.inbox,
            shared_inbox=parsed.shared_inbox,
            outbox=parsed.outbox,
            followers=parsed.followers,
            key_id=parsed.key_id,
            public_key_pem=parsed.public_key_pem,
            fetched_at=now,
            gone_at=None,
        )
        key = (actor.key_id, actor.public_key_pem)
        async with self._db.transaction() as tx:
            before = await actor_store.by_uri(tx, actor.uri)
            stored = await actor_store.upsert(tx, ident, actor)
            await media_store.set_remote_avatar(tx, stored.guid, parsed.icon)
        if before is not None and (before.key_id, before.public_key_pem) != key:
            self._key_changes.changed()  # once committed: whoever looks again finds the new one
        return stored

    async def refresh(self, uri: str) -> Identity:
        """Fetch an actor again now (it announced an Update of itself)."""
        self._drop_keys(uri)
        return await self._fetch_shared(uri)

    def gone(self, uri: str) -> None:
        """An actor deleted itself (committed): its key is trusted no more, in any process of
        the pod; what it signs next needs the key fetched again."""
        self._drop_keys(uri)
        self._key_changes.changed()

    def _drop_keys(self, uri: str) -> None:
        for key_id in [k for k, v in self._keys.items() if v[1].uri == uri]:
            del self._keys[key_id]

    async def key_for(self, key_id: str) -> tuple[RemoteActor, Identity]:
        """The actor owning `key_id`, from the cache or the database; fetched when unknown, or
        when its actor is gone (found again only if its pod serves it again)."""
        mark = self._key_changes.mark
        if mark != self._keys_mark:
            self._keys.clear()
            self._keys_mark = mark
        cached = self._keys.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            self._keys.move_to_end(key_id)
            return cached[1], cached[2]
        actor = await actor_store.by_key_id(self._db, key_id)
        if actor is not None and actor.gone_at is None:
            ident = await identity_store.get(self._db, actor.identity_guid)
            if ident is not None:
                self._remember(key_id, actor, ident)
                return actor, ident
        return await self._fetch_key(key_id)

    async def refetch_key(self, key_id: str) -> tuple[RemoteActor, Identity] | None:
        """The actor owning `key_id`, fetched again after a failed verification (the key may
        have been rotated); None, without a fetch, when the limit on refetches says not now."""
        if not self._refetches.allow(key_id, host_of(key_id), self._clock.now()):
            return None
        return await self._fetch_key(key_id)

    async def _fetch_key(self, key_id: str) -> tuple[RemoteActor, Identity]:
        owner = key_id.split("#", 1)[0]
        if self._urls.is_local(owner):
            # Our own actors never sign what arrives from outside; never fetch ourselves.
            raise ApiError(401, "signature_key_unknown", "The signing key cannot be found.")
        # Split only once odd_authority passed it: that is also true of a URL that cannot be.
        parts = None if odd_authority(owner) else urlsplit(owner)
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(401, "signature_key_unknown", "The signing key cannot be found.")
        now = self._clock.now()
        if not self._failures.allow(key_id, now):
            raise ApiError(401, "signature_key_unknown", "The signing key cannot be fetched.")
        try:
            if owner in self._inflight:
                ident = await self._fetch_shared(owner)  # joins the fetch under way
            else:
                async with self._key_slot(host_of(owner)):
                    ident = await self._fetch_shared(owner)
        except _NoSlot:
            raise ApiError(
                401, "signature_key_unknown", "The signing key cannot be fetched now."
            ) from None
        except ApiError:
            self._failures.failed(key_id, now)
            raise ApiError(
                401, "signature_key_unknown", "The signing key cannot be fetched."
            ) from None
        actor = await actor_store.by_identity(self._db, ident.guid)
        if actor is None or actor.key_id != key_id:
            self._failures.failed(key_id, now)
            raise ApiError(401, "signature_key_unknown", "The key is not the actor's key.")
        self._remember(key_id, actor, ident)
        return actor, ident

    @asynccontextmanager
    async def _key_slot(self, host: str) -> AsyncIterator[None]:
        """One of `host`'s KEY_FETCHES_PER_HOST slots; _NoSlot if none frees within the fetch
        timeout (a fetch that would have waited so long fails as one that timed out)."""
        entry = self._key_slots.get(host)
        if entry is None:
            entry = self._key_slots[host] = (asyncio.Semaphore(KEY_FETCHES_PER_HOST), [0])
        slots, users = entry
        users[0] += 1
        try:
            try:
                async with asyncio.timeout(self._fetch_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise _NoSlot from None
            try:
                yield
            finally:
                slots.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._key_slots[host]

    def _remember(self, key_id: str, actor: RemoteActor, ident: Identity) -> None:
        self._keys[key_id] = (time.monotonic(), actor, ident)
        self._keys.move_to_end(key_id)
        while len(self._keys) > KEY_CACHE_SIZE:
            self._keys.popitem(last=False)

    async def remote(self, identity_guid: str) -> RemoteActor | None:
        return await actor_store.by_identity(self._db, identity_guid)


def _unanswered(cause: BaseException | None) -> bool:
    """Whether a fetch failed for want of an answer: unreachable, timed out, or a 5xx or 429."""
    if not isinstance(cause, FetchError):
        return False
    if cause.code == "unreachable":
        return True
    return (
        cause.code == "http_error"
        and cause.status is not None
        and (cause.status >= 500 or cause.status == 429)
    )


class _NoSlot(Exception):
    """No slot for a key fetch freed in time."""


def _shown_name(parsed: ActorDoc) -> str:
    """The actor's name as kept, or its username when that shows nothing (blank fillers, the
    usual "blank name"), as when it has none: clients would show it as no one."""
    name = profile_line(parsed.display_name)
    return name if has_visible(name) else parsed.username


def _subject(jrd: dict) -> tuple[str, str] | None:
    """The handle (username, domain as handles are stored) a WebFinger answer's `subject`
    names, or None when it names none."""
    subject = jrd.get("subject")
    if not isinstance(subject, str) or len(subject) > MAX_SUBJECT:
        return None
    username, sep, domain = subject.removeprefix("acct:").partition("@")
    canonical = handle_domain(domain) if sep else None
    if canonical is None or not remote_username_ok(username):
        return None
    return username, canonical


def _self_links(jrd: dict, kind: ActorKind | None = None) -> list[str]:
    """The actors a WebFinger answer names, in order; with a `kind`, those it says are of that
    kind first, then those it says nothing of, then the others (Lemmy names a person and a
    community of the same name both, each with its type)."""
    links = jrd.get("links")
    ranked: list[tuple[int, str]] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        media_type = str(link.get("type", ""))
        href = link.get("href")
        if isinstance(href, str) and ("activity+json" in media_type or "ld+json" in media_type):
            ranked.append((_rank(link, kind), href))
    return [href for _, href in sorted(ranked, key=lambda r: r[0])]  # stable: ties keep order


def _rank(link: dict, kind: ActorKind | None) -> int:
    """0 for a self link WebFinger says is of `kind`, 1 when it says no type, 2 otherwise."""
    props = link.get("properties")
    said = props.get(AS_TYPE_PROPERTY) if isinstance(props, dict) else None
    if kind is None or not isinstance(said, str):
        return 1
    return 0 if _kind(said.rsplit("#", 1)[-1]) == kind else 2


def _kind(actor_type: str) -> ActorKind:
    """A Group is a space; every other actor type (Person, Service, Application...) a person."""
    return "group" if actor_type == "Group" else "person"


def _field(name: str, value_html: str) -> dict[str, str]:
    """A remote profile field as text, as a local profile's are (values come as HTML: links)."""
    value = profile_line(html_to_text(sanitize_html(value_html)))
    return {"name": profile_line(name)[:FIELD_CHARS], "value": value[:FIELD_CHARS]}
