"""POST to an inbox: limits → signature → the signer is the actor → origin rules → dedupe →
dispatch by type, in one transaction → 202. The one exception: a Delete of an unknown actor by
itself is answered 202 once the signature header parses, unverified and unstored."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from cryptography.exceptions import UnsupportedAlgorithm

from federation import httpsig
from federation.context import Federation
from federation.convert import InvalidDocument, check_addressing, mend_surrogates, ref, too_deep
from federation.handlers import HANDLERS, Incoming
from federation.jsonld import normalize
from federation.urls import host_of, same_origin
from node.api.http import read_body
from node.errors import ApiError, bad_request, forbidden
from node.store import identities as identity_store
from node.store import remote_actors as actor_store
from node.store.identities import Identity
from node.store.remote_actors import RemoteActor

log = logging.getLogger("hearth.inbox")

AS_MEDIA_TYPES = ("application/activity+json", "application/ld+json")


async def _read_limited(request: web.Request, limit: int) -> bytes:
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, "payload_too_large", f"Activities are limited to {limit} bytes.")
    if length is not None and "Content-Encoding" not in request.headers:
        # Exactly `length` bytes arrive (a compressed body would arrive inflated).
        try:
            return await request.content.readexactly(length)
        except asyncio.IncompleteReadError:
            raise bad_request("The body is shorter than its Content-Length.") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"Activities are limited to {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def refuse_unwanted_signer(fed: Federation, pending: httpsig.PendingSignature) -> None:
    """Refuse, before any key is looked up, a signature by a blocked domain's key or by one of
    ours; for inbox posts and signed GETs alike (a block holds both ways)."""
    if fed.is_blocked(pending.key_id):
        raise forbidden("This pod does not accept requests from your domain.", "domain_blocked")
    if fed.urls.is_local(pending.key_id):
        # Our own actors never sign what arrives from outside; fetching "their" key would make
        # us fetch ourselves and file a local actor as a remote one.
        raise _unauthorized("signature_key_unknown", "The signing key cannot be found.")


async def verified_signer(
    fed: Federation, pending: httpsig.PendingSignature
) -> tuple[RemoteActor, Identity]:
    """The owner of the key that signed, once the signature verifies with it.

    The key comes from the cache or is fetched; on failure it is fetched again (it may have been
    rotated), unless it was fetched again within `federation.key_refetch_interval_seconds`.
    """
    actor, ident = await fed.directory.key_for(pending.key_id)
    if not pending.verify(_public_key(fed, actor.public_key_pem)):
        again = await fed.directory.refetch_key(pending.key_id)
        if again is None or not pending.verify(_public_key(fed, again[0].public_key_pem)):
            raise _unauthorized("signature_invalid", "The signature does not verify.")
        actor, ident = again
    # Its handle may be on another domain than its key (a split domain), blocked since it was
    # first seen: a block of either domain refuses the account.
    if ident.domain is not None and fed.is_blocked(ident.domain):
        raise forbidden("This pod does not accept requests from your domain.", "domain_blocked")
    return actor, ident


def _public_key(fed: Federation, pem: str) -> object | None:
    """The parsed key, or None (which verifies nothing) when the peer's PEM does not load."""
    try:
        return fed.public_keys.parse(pem)
    except (ValueError, UnsupportedAlgorithm):
        return None


async def _deletes_self(
    fed: Federation, doc: dict[str, Any], pending: httpsig.PendingSignature
) -> tuple[RemoteActor, Identity] | bool:
    """For a Delete of its own actor. True: taken unverified, as by an actor we never stored
    (as Mastodon's InboxesController#skip_unknown_actor_activity skips): Mastodon sends one to
    every inbox it knows when an account goes. We have nothing of it to delete, and checking
    the signature would fetch a key that is gone (410) and answer 401, which Mastodon retries.
    The signer: an actor already gone signed it with the key we hold; gone may mean only that
    its inbox answered 410 before its Delete came, so what it left here must still go (its key
    is not fetched: it is gone). False: anything else, checked as any activity."""
    if doc.get("type") != "Delete":
        return False
    actor = ref(doc.get("actor"))
    if actor is None or actor != ref(doc.get("object")):
        return False
    known = await actor_store.by_key_id(fed.db, pending.key_id) or await actor_store.by_uri(
        fed.db, actor
    )
    if known is None:
        return True
    if known.gone_at is None:
        return False
    ident = await identity_store.get(fed.db, known.identity_guid)
    if (
        ident is not None
        and known.key_id == pending.key_id
        and pending.verify(_public_key(fed, known.public_key_pem))
    ):
        return known, ident
    return True  # unverified, nothing is done


async def receive(
    fed: Federation, request: web.Request, target_username: str | None
) -> web.Response:
    config = fed.config.federation
    if request.content_type not in AS_MEDIA_TYPES:
        raise ApiError(
            415, "unsupported_media_type", "Send activities as application/activity+json."
        )
    body = await read_body(request, _read_limited(request, config.max_inbox_bytes))

    try:
        pending = httpsig.check_request(
            request.method,
            request.raw_path,
            request.headers,
            body,
            fed.urls.host,
            fed.clock.now(),
            timedelta(seconds=config.signature_window_seconds),
            scheme=fed.urls.base.split("://", 1)[0],
        )
    except httpsig.SignatureError as exc:
        raise _unauthorized(exc.code, exc.message) from None

    refuse_unwanted_signer(fed, pending)

    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and integers over the digit limit;
        # RecursionError, arrays or objects nested past the interpreter's limit.
        raise bad_request("The body is not valid JSON.", "malformed_json") from None
    if not isinstance(doc, dict):
        raise bad_request("An activity is a JSON object.", "malformed_json")
    if too_deep(doc, raw=body):
        raise bad_request("The activity is nested too deeply.", "malformed_json")
    doc = mend_surrogates(doc, body)

    deleting = await _deletes_self(fed, doc, pending)
    if deleting is True:
        return web.Response(status=202)
    actor, ident = deleting if isinstance(deleting, tuple) else await verified_signer(fed, pending)

    try:
        activity = normalize(doc)
    except (ValueError, RecursionError):
        raise bad_request("The activity's JSON-LD cannot be processed.", "invalid_jsonld") from None
    actor_uri = ref(activity.get("actor"))
    if actor_uri != actor.uri:
        raise forbidden(
            "The signing key does not belong to the activity's actor.", "actor_mismatch"
        )
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not same_origin(activity_id, actor.uri):
        raise forbidden("The activity id is not on its actor's origin.", "origin_mismatch")
    kind = activity.get("type")
    if not isinstance(kind, str):
        raise bad_request("The activity has no type.", "invalid_activity")

    try:
        check_addressing(activity)
        if isinstance(activity.get("object"), dict):
            check_addressing(activity["object"])
    except InvalidDocument as exc:
        raise ApiError(422, "invalid_object", str(exc)) from None

    # We heard from this host: if its deliveries were paused, resume them.
    await fed.worker.heard_from(host_of(actor.uri))

    handler = HANDLERS.get(kind)
    if handler is None:
        log.info("ignoring %s from %s", kind, actor.uri)
        return web.Response(status=202)
    incoming = Incoming(fed, activity, activity_id, actor, ident, target_username)
    await handler(incoming)
    return web.Response(status=202)


def describe(activity: dict[str, Any]) -> str:
    return f"{activity.get('type')} {activity.get('id')}"
