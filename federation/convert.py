"""Between our records and ActivityStreams documents, named by direction. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.jsonld import OUR_CONTEXT
from federation.urls import AS_PUBLIC, PUBLIC_ALIASES, Urls, same_origin
from node.store.identities import Identity
from node.store.posts import Post

AS_CONTEXT_ONLY = "https://www.w3.org/ns/activitystreams"
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


class InvalidDocument(ValueError):
    """A remote document we cannot use; the message is safe to return."""


# --- ours → ActivityStreams ---------------------------------------------------------------


def person_to_as(ident: Identity, urls: Urls, public_key_pem: str) -> dict[str, Any]:
    actor = urls.actor(ident.username)
    return {
        "@context": [*OUR_CONTEXT, {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"}],
        "id": actor,
        "type": "Person",
        "preferredUsername": ident.username,
        "name": ident.display_name,
        "summary": ident.bio,
        "url": actor,
        "inbox": urls.inbox(ident.username),
        "outbox": urls.outbox(ident.username),
        "followers": urls.followers(ident.username),
        "following": urls.following(ident.username),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": ident.locked,
        "discoverable": ident.discoverable,
        "published": ident.created_at,
        "attachment": [
            {"type": "PropertyValue", "name": f["name"], "value": f["value"]} for f in ident.fields
        ],
        "publicKey": {"id": urls.key_id(actor), "owner": actor, "publicKeyPem": public_key_pem},
    }


def instance_actor_to_as(urls: Urls, public_key_pem: str, name: str) -> dict[str, Any]:
    actor = urls.instance_actor
    return {
        "@context": OUR_CONTEXT,
        "id": actor,
        "type": "Application",
        "preferredUsername": urls.host,
        "name": name,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "publicKey": {"id": urls.key_id(actor), "owner": actor, "publicKeyPem": public_key_pem},
    }


def audience(
    post: Post, author_actor: str, urls: Urls, followers_uri: str, recipient_uris: list[str]
) -> tuple[list[str], list[str]]:
    """(to, cc) of a post by its visibility."""
    if post.visibility == "public":
        return [AS_PUBLIC], [followers_uri, *recipient_uris]
    if post.visibility == "followers":
        return [followers_uri], list(recipient_uris)
    return list(recipient_uris), []


def note_to_as(post: Post, author_actor: str, to: list[str], cc: list[str]) -> dict[str, Any]:
    note: dict[str, Any] = {
        "id": post.ap_id,
        "type": "Note",
        "attributedTo": author_actor,
        "content": post.html,
        "source": {"content": post.body, "mediaType": "text/plain"},
        "published": post.created_at,
        "to": to,
        "cc": cc,
        "url": post.ap_id,
    }
    if post.updated_at != post.created_at:
        note["updated"] = post.updated_at
    if post.in_reply_to_ap_id:
        note["inReplyTo"] = post.in_reply_to_ap_id
    return note


def activity(
    ap_id: str,
    kind: str,
    actor: str,
    obj: Any,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": ap_id,
        "type": kind,
        "actor": actor,
        "object": obj,
    }
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    doc.update(extra)
    return doc


def collection(uri: str, total: int, first: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first:
        doc["first"] = first
    return doc


def collection_page(
    uri: str, part_of: str, items: list[Any], next_uri: str | None, prev_uri: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": uri,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next_uri:
        doc["next"] = next_uri
    if prev_uri:
        doc["prev"] = prev_uri
    return doc


# --- ActivityStreams → ours ---------------------------------------------------------------


def ref(value: Any) -> str | None:
    """The id of a reference that may be a string, an object with `id`, or a one-item list."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def refs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    out = []
    for item in items:
        r = ref(item)
        if r:
            out.append(r)
    return out


def _http_url(value: Any, what: str) -> str:
    if (
        not isinstance(value, str)
        or not value.startswith(("https://", "http://"))
        or len(value) > 2048
    ):
        raise InvalidDocument(f"{what} is not an http(s) URL")
    return value


@dataclass(frozen=True)
class ActorDoc:
    uri: str
    actor_type: str
    username: str
    display_name: str
    summary_html: str
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    key_id: str
    public_key_pem: str
    locked: bool
    discoverable: bool


def actor_from_as(doc: dict[str, Any]) -> ActorDoc:
    uri = _http_url(doc.get("id"), "id")
    kind = doc.get("type")
    if kind not in ACTOR_TYPES:
        raise InvalidDocument("not an actor")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username or len(username) > 100:
        raise InvalidDocument("preferredUsername missing")
    inbox = _http_url(doc.get("inbox"), "inbox")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    shared = _http_url(shared, "sharedInbox") if shared else None
    keys = doc.get("publicKey")
    key = keys[0] if isinstance(keys, list) and keys else keys
    if not isinstance(key, dict):
        raise InvalidDocument("publicKey missing")
    key_id = _http_url(key.get("id"), "publicKey.id")
    pem = key.get("publicKeyPem")
    owner = key.get("owner", uri)
    if not isinstance(pem, str) or "PUBLIC KEY" not in pem:
        raise InvalidDocument("publicKeyPem missing")
    if owner != uri or not same_origin(key_id, uri):
        raise InvalidDocument("the key does not belong to this actor")
    for name in ("inbox",):
        if not same_origin(inbox, uri):
            raise InvalidDocument(f"{name} is on another origin than the actor")
    name = doc.get("name")
    summary = doc.get("summary")
    outbox = doc.get("outbox")
    followers = doc.get("followers")
    return ActorDoc(
        uri=uri,
        actor_type=kind,
        username=username,
        display_name=name[:100] if isinstance(name, str) else username,
        summary_html=summary[:5000] if isinstance(summary, str) else "",
        inbox=inbox,
        shared_inbox=shared,
        outbox=outbox if isinstance(outbox, str) else None,
        followers=followers if isinstance(followers, str) else None,
        key_id=key_id,
        public_key_pem=pem,
        locked=doc.get("manuallyApprovesFollowers") is True,
        discoverable=doc.get("discoverable") is not False,
    )


@dataclass(frozen=True)
class NoteDoc:
    ap_id: str
    author: str
    content_html: str
    published: str | None
    in_reply_to: str | None
    to: list[str]
    cc: list[str]

    def visibility(self, author_followers: str | None) -> str:
        everyone = set(self.to) | set(self.cc)
        if everyone & PUBLIC_ALIASES:
            return "public"
        if author_followers and author_followers in everyone:
            return "followers"
        if any(u.endswith("/followers") for u in everyone):
            return "followers"
        return "direct"


NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question"})
MAX_CONTENT = 100_000


def note_from_as(obj: Any) -> NoteDoc:
    if not isinstance(obj, dict) or obj.get("type") not in NOTE_TYPES:
        raise InvalidDocument("object is not a Note")
    ap_id = _http_url(obj.get("id"), "object id")
    author = ref(obj.get("attributedTo"))
    if not author:
        raise InvalidDocument("object has no attributedTo")
    content = obj.get("content", "")
    if not isinstance(content, str):
        content = ""
    if len(content) > MAX_CONTENT:
        raise InvalidDocument("content too long")
    published = obj.get("published")
    return NoteDoc(
        ap_id=ap_id,
        author=author,
        content_html=content,
        published=published if isinstance(published, str) else None,
        in_reply_to=ref(obj.get("inReplyTo")),
        to=refs(obj.get("to")),
        cc=refs(obj.get("cc")),
    )
