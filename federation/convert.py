"""Between our records and ActivityStreams documents, named by direction. Pure: no I/O."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from federation.jsonld import OUR_CONTEXT
from federation.urls import AS_PUBLIC, PUBLIC_ALIASES, Urls, odd_authority, same_origin
from node.services.rules import remote_username_ok
from node.services.text import render_plain
from node.store.identities import Identity
from node.store.media import Attachment
from node.store.posts import Post

AS_CONTEXT_ONLY = "https://www.w3.org/ns/activitystreams"
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


class InvalidDocument(ValueError):
    """A remote document we cannot use; the message is safe to return."""


# --- ours → ActivityStreams ---------------------------------------------------------------


# The terms of an actor that ActivityStreams leaves out, as Mastodon's context defines them: a
# JSON-LD reader takes a term no context defines for a name of its own, not for Mastodon's.
ACTOR_CONTEXT: dict[str, str] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}


def person_to_as(
    ident: Identity, urls: Urls, public_key_pem: str, avatar: Attachment | None = None
) -> dict[str, Any]:
    actor = urls.actor(ident.username)
    doc = {
        "@context": [*OUR_CONTEXT, ACTOR_CONTEXT],
        "id": actor,
        "type": "Person",
        "preferredUsername": ident.username,
        "name": ident.display_name,
        # Others read both as HTML (Mastodon sanitises them so): ours are plain text.
        "summary": render_plain(ident.bio),
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
            {"type": "PropertyValue", "name": f["name"], "value": html.escape(f["value"])}
            for f in ident.fields
        ],
        "publicKey": {"id": urls.key_id(actor), "owner": actor, "publicKeyPem": public_key_pem},
    }
    if avatar is not None:
        doc["icon"] = {
            "type": "Image",
            "mediaType": avatar.media_type,
            "url": avatar.url_on(urls.base),
        }
    return doc


def instance_actor_to_as(urls: Urls, public_key_pem: str, name: str) -> dict[str, Any]:
    actor = urls.instance_actor
    return {
        "@context": [*OUR_CONTEXT, ACTOR_CONTEXT],
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


def mention(actor_uri: str, username: str, domain: str) -> dict[str, str]:
    """A Mention tag of an actor, named `@user@host` as Mastodon and GoToSocial write it."""
    return {"type": "Mention", "href": actor_uri, "name": f"@{username}@{domain}"}


# Mastodon's term for blurhash, added to the @context of documents that carry one.
BLURHASH_CONTEXT: dict[str, str] = {
    "toot": "http://joinmastodon.org/ns#",
    "blurhash": "toot:blurhash",
}


def attachment_to_as(att: Attachment, url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": att.kind, "mediaType": att.media_type, "url": url}
    if att.description:
        doc["name"] = att.description  # alt text
    if att.width and att.height:
        doc["width"], doc["height"] = att.width, att.height
    if att.blurhash:
        doc["blurhash"] = att.blurhash
    return doc


def note_to_as(
    post: Post,
    author_actor: str,
    to: list[str],
    cc: list[str],
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    note: dict[str, Any] = {
        "id": post.ap_id,
        "type": "Note",
        "attributedTo": author_actor,
        "content": post.html,
        "source": {"content": post.body, "mediaType": "text/markdown"},
        "published": post.created_at,
        "to": to,
        "cc": cc,
        "url": post.ap_id,
    }
    if post.updated_at != post.created_at:
        note["updated"] = post.updated_at
    if post.in_reply_to_ap_id:
        note["inReplyTo"] = post.in_reply_to_ap_id
    if attachments:
        note["attachment"] = attachments
    if post.content_warning:
        note["summary"] = html.escape(post.content_warning)  # HTML, as ActivityStreams has it
    note["sensitive"] = post.sensitive
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


# Recipients an object or activity may name in each addressing list, and Mention tags it may
# carry. Followers are addressed as one collection URI, so only people named one by one count:
# a 500-character Mastodon post names at most about 170 ("@a " each), and no server sends one
# inbox thousands. Past this a document is refused rather than resolved entry by entry.
MAX_ADDRESSES = 500
ADDRESSING = ("to", "cc", "bto", "bcc", "audience")


def check_addressing(doc: dict[str, Any]) -> None:
    """InvalidDocument when `doc` names more than MAX_ADDRESSES recipients in one list."""
    for key in ADDRESSING:
        value = doc.get(key)
        if isinstance(value, list) and len(value) > MAX_ADDRESSES:
            raise InvalidDocument(f"{key} names more than {MAX_ADDRESSES} recipients")
    tags = doc.get("tag")
    if isinstance(tags, list) and len(tags) > MAX_ADDRESSES:
        mentions = sum(1 for t in tags if isinstance(t, dict) and _is_tag(t, "Mention"))
        if mentions > MAX_ADDRESSES:
            raise InvalidDocument(f"tag names more than {MAX_ADDRESSES} mentions")


# Nesting (objects and arrays) allowed in a remote document. Real activities stay well under
# ten levels; JSON-LD processing recurses per level and would hit Python's recursion limit
# (a 500, not a refusal) a few hundred levels down.
MAX_DEPTH = 64


def too_deep(value: Any, limit: int = MAX_DEPTH, raw: bytes | None = None) -> bool:
    """True when a parsed JSON value nests deeper than `limit` (checked without recursion).

    `raw`, the text the value was parsed from, settles most cases at once: each level of
    nesting opens with a bracket, so a text with few brackets cannot nest deeply.
    """
    if raw is not None and raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


# A JSON escape of a UTF-16 surrogate (`\ud800`): a lone one survives Python's parser.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def mend_surrogates(value: Any, raw: bytes) -> Any:
    """`value` with each lone UTF-16 surrogate in its strings and keys made U+FFFD.

    JSON may escape one (`\\ud800`), and a JavaScript server that cut a string inside a
    surrogate pair sends one; SQLite cannot encode it, so storing or even looking up such a
    string fails. `raw`, the text `value` was parsed from, settles most cases: a lone surrogate
    can only come from such an escape. Call it on values `too_deep` has passed (it recurses).
    """
    if not _SURROGATE_ESCAPE.search(raw):
        return value
    return _mended(value)


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mended(v) for v in value]
    if isinstance(value, dict):
        return {_mended(k): _mended(v) for k, v in value.items()}
    return value


def type_of(doc: dict[str, Any]) -> str | None:
    """A document's `type` when it is one string (anything else names no type we handle)."""
    kind = doc.get("type")
    return kind if isinstance(kind, str) else None


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
    icon: tuple[str, str] | None = None  # the avatar: (URL, media type)
    fields: tuple[tuple[str, str], ...] = ()  # profile fields: (name, value as HTML)
    also_known_as: tuple[str, ...] = ()  # its other ids: where an account moving here was


def _icon(value: Any) -> tuple[str, str] | None:
    """An actor's avatar: an Image (or the first of several) with a URL, or a bare URL."""
    if isinstance(value, list):
        value = value[0] if value else None
    media_type: Any = None
    if isinstance(value, dict):
        url, media_type = value.get("url"), value.get("mediaType")
        if isinstance(url, list):
            url = url[0] if url else None
        if isinstance(url, dict):  # a Link
            url, media_type = url.get("href"), url.get("mediaType", media_type)
    else:
        url = value
    if not isinstance(url, str) or len(url) > 2048 or not url.startswith(("https://", "http://")):
        return None
    if not isinstance(media_type, str) or not media_type.startswith("image/"):
        media_type = "image/*"  # unknown: clients find out when they load it
    return url, media_type[:100]


def _natural(obj: dict[str, Any], prop: str) -> str | None:
    """A natural-language property (`name`, `summary`, `content`): its plain string, else one
    from its language map (`nameMap`...), preferring "und" (no language given), then "en",
    then the first."""
    value = obj.get(prop)
    if isinstance(value, str) and value:
        return value
    texts = obj.get(prop + "Map")
    if isinstance(texts, dict):
        for lang in ("und", "en", *texts):
            if isinstance(texts.get(lang), str):
                return texts[lang]
    return value if isinstance(value, str) else None


def actor_from_as(doc: dict[str, Any]) -> ActorDoc:
    uri = _http_url(doc.get("id"), "id")
    if odd_authority(uri):  # its inbox and key are on its origin: they are refused with it
        raise InvalidDocument("the id has user info or a trailing dot")
    kind = type_of(doc)
    if kind not in ACTOR_TYPES:
        raise InvalidDocument("not an actor")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username:
        raise InvalidDocument("preferredUsername missing")
    if not remote_username_ok(username):
        raise InvalidDocument(
            "preferredUsername is too long or has an @, a space or an invisible character"
        )
    inbox = _http_url(doc.get("inbox"), "inbox")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    shared = _http_url(shared, "sharedInbox") if shared else None
    if shared and not same_origin(shared, uri):
        # Deliveries for this actor would go to a host of its choosing (another pod's inbox,
        # a host it wants paused by our circuit breaker): use its own inbox instead.
        shared = None
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
    name = _natural(doc, "name")
    summary = _natural(doc, "summary")
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
        locked=_extension(doc, "as", "manuallyApprovesFollowers") is True,
        discoverable=_extension(doc, "toot", "discoverable") is not False,
        icon=_icon(doc.get("icon")),
        fields=_profile_fields(doc.get("attachment")),
        also_known_as=tuple(refs(doc.get("alsoKnownAs"))[:MAX_ADDRESSES]),
    )


# Vocabularies' prefixes in Mastodon's context, and the IRIs they stand for.
_VOCABULARIES = {
    "as": f"{AS_CONTEXT_ONLY}#",
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
}


def _spellings(prefix: str, term: str) -> tuple[str, str, str]:
    """A term as a document gives it, and as JSON-LD processing (`normalize`) leaves it when
    our context does not define it: a prefixed name or a full IRI."""
    return term, f"{prefix}:{term}", _VOCABULARIES[prefix] + term


def _extension(doc: dict[str, Any], prefix: str, term: str) -> Any:
    """The value of a term (`_spellings`) in `doc`, or None."""
    return next((doc[key] for key in _spellings(prefix, term) if key in doc), None)


# A profile's fields kept: Mastodon allows 4 by default, Misskey 16.
MAX_PROFILE_FIELDS = 16
_PROPERTY_VALUE = _spellings("schema", "PropertyValue")


def _profile_fields(value: Any) -> tuple[tuple[str, str], ...]:
    """An actor's profile fields (Mastodon's PropertyValue attachments): (name, value HTML)
    for each with both as text, in order; anything else in the list is skipped."""
    items = value if isinstance(value, list) else [value]
    fields = []
    for item in items:
        if not isinstance(item, dict) or type_of(item) not in _PROPERTY_VALUE:
            continue
        name = item.get("name")
        text = _extension(item, "schema", "value")
        if isinstance(name, str) and isinstance(text, str) and name.strip():
            fields.append((name[:1000], text[:5000]))
    return tuple(fields[:MAX_PROFILE_FIELDS])


@dataclass(frozen=True)
class NoteDoc:
    ap_id: str
    author: str
    content_html: str
    published: str | None
    in_reply_to: str | None
    to: list[str]
    cc: list[str]
    attachments: tuple[AttachmentDoc, ...] = ()
    mentions: tuple[str, ...] = ()  # actor URIs named in Mention tags
    hashtags: tuple[str, ...] = ()  # lower case, without '#'
    summary_html: str = ""  # a content warning, as Mastodon sends one
    sensitive: bool = False
    updated: str | None = None  # when last edited, as its author's pod says

    @property
    def unlisted(self) -> bool:
        """Whether the public is named in `cc` only: Mastodon's and GoToSocial's "unlisted"
        (Misskey's "home"). Anyone may read the post, but its author asked that it be kept
        out of hashtag streams and timelines."""
        return not set(self.to) & PUBLIC_ALIASES and bool(set(self.cc) & PUBLIC_ALIASES)

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
TITLED_TYPES = frozenset({"Article", "Page"})  # the name is a title (Lemmy posts are Pages)
MAX_CONTENT = 100_000
# Tags in a note's content. The sanitiser's HTML parser takes time quadratic in how deeply
# elements nest (`<dl><dt>` repeated through 100,000 characters held the pod for 3 s, in the
# inbox's write transaction); this bounds it to a tenth of a second or so. An article
# has a tag every 40 characters or so: about 2,500 in the longest content allowed.
MAX_MARKUP = 5_000


def checked_markup(content: str) -> str:
    """`content`, if the sanitiser may parse it at a bounded cost; InvalidDocument if not."""
    if len(content) > MAX_CONTENT:
        raise InvalidDocument("content too long")
    if content.count("<") > MAX_MARKUP:
        raise InvalidDocument("content has too much markup")
    return content


def note_from_as(obj: Any) -> NoteDoc:
    if not isinstance(obj, dict) or type_of(obj) not in NOTE_TYPES:
        raise InvalidDocument("object is not a Note")
    ap_id = _http_url(obj.get("id"), "object id")
    author = _first_author(obj.get("attributedTo"))
    if not author:
        raise InvalidDocument("object has no attributedTo")
    content = _natural(obj, "content") or ""
    if obj["type"] in TITLED_TYPES:
        content = _titled(obj, content)
    elif obj["type"] == "Question":
        content += _poll_options(obj)
    checked_markup(content)
    check_addressing(obj)
    published = obj.get("published")
    updated = obj.get("updated")
    # An Article's or Page's summary is an excerpt, not a warning (Mastodon reads it so too).
    summary = None if obj["type"] in TITLED_TYPES else _natural(obj, "summary")
    return NoteDoc(
        ap_id=ap_id,
        author=author,
        content_html=content,
        published=published if isinstance(published, str) else None,
        updated=updated if isinstance(updated, str) else None,
        in_reply_to=ref(obj.get("inReplyTo")),
        to=refs(obj.get("to")),
        cc=refs(obj.get("cc")),
        attachments=attachments_from_as(obj.get("attachment")),
        mentions=tuple(_tag_values(obj.get("tag"), "Mention")),
        hashtags=tuple(_tag_values(obj.get("tag"), "Hashtag")),
        summary_html=summary[:5000] if isinstance(summary, str) else "",
        # Spelt out with its prefix when a document's own context had to be compacted into ours.
        sensitive=any(obj.get(k) is True for k in ("sensitive", "as:sensitive")),
    )


def _first_author(value: Any) -> str | None:
    """Who an object is by: its `attributedTo`, or the first of several, as Mastodon and
    Misskey read it (an article may name each of its authors; a PeerTube video, its account
    and then its channel). Only that one is checked against the sender and shown."""
    if isinstance(value, list) and value:
        value = value[0]
    return ref(value)


def _titled(obj: dict[str, Any], content: str) -> str:
    """An Article's or Page's body: its title, a link to what it links to (`url`, or a Link
    attachment, which is where Lemmy puts a link post's link), then its content, if any.

    Mastodon shows only the title and the link; we keep the content too, as a Lemmy post's
    text or a blog article is the post itself, not a preview of one.
    """
    name = _natural(obj, "name")
    url, attached = obj.get("url"), obj.get("attachment")
    urls = url if isinstance(url, list) else [url]
    attached = attached if isinstance(attached, list) else [attached]
    links = [a for a in attached if isinstance(a, dict) and a.get("type") == "Link"]
    link, _ = _attachment_url([*urls, *links])
    head = f"<p><strong>{html.escape(name)}</strong></p>" if name else ""
    if link:
        head += f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
    return head + content


# Options of a poll shown with its question; Mastodon allows 4 (more by configuration),
# Misskey 10.
MAX_POLL_OPTIONS = 20


def _poll_options(obj: dict[str, Any]) -> str:
    """A Question's options (`oneOf`, or `anyOf` for several choices) as a list to append to
    its content: we have no polls, and the question alone would lose what it asks to choose
    from. Each option's `name` is plain text."""
    choices = obj.get("oneOf") or obj.get("anyOf")
    names = [
        name
        for item in (choices if isinstance(choices, list) else [])[:MAX_POLL_OPTIONS]
        if isinstance(item, dict) and isinstance(name := _natural(item, "name"), str) and name
    ]
    if not names:
        return ""
    return "<ul>" + "".join(f"<li>{html.escape(n[:500])}</li>" for n in names) + "</ul>"


def _tag_values(tags: Any, kind: str) -> list[str]:
    """Mention hrefs or hashtag names from a Note's `tag` list (at most 50 of each).

    The type may be spelt as a compact or full IRI too: JSON-LD compaction writes `as:Hashtag`
    for the Hashtag a sender's context defined, as ours does not define it.
    """
    out: list[str] = []
    for tag in tags if isinstance(tags, list) else [tags]:
        if not isinstance(tag, dict) or not _is_tag(tag, kind):
            continue
        if kind == "Mention" and isinstance(tag.get("href"), str):
            out.append(tag["href"])
        elif kind == "Hashtag" and isinstance(tag.get("name"), str):
            name = tag["name"].lstrip("#")
            # Checked before lower-casing, as local hashtags are ('İ' lower-cases to two).
            if 0 < len(name) <= 100 and name.replace("_", "").isalnum():
                out.append(name.lower())
    return list(dict.fromkeys(out))[:50]


def _is_tag(tag: dict[str, Any], kind: str) -> bool:
    return tag.get("type") in _spellings("as", kind)


@dataclass(frozen=True)
class AttachmentDoc:
    kind: str
    media_type: str
    url: str
    width: int | None
    height: int | None
    blurhash: str | None
    name: str


ATTACHMENT_TYPES = frozenset({"Image", "Document", "Video", "Audio"})
MAX_ATTACHMENTS = 8
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}$")


def attachments_from_as(value: Any) -> tuple[AttachmentDoc, ...]:
    """What a Note says of its attachments. Entries we cannot use are skipped, never fetched:
    the note itself stays valid."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for item in items[:MAX_ATTACHMENTS]:
        doc = _attachment_from_as(item)
        if doc is not None:
            out.append(doc)
    return tuple(out)


def _attachment_from_as(item: Any) -> AttachmentDoc | None:
    if not isinstance(item, dict) or type_of(item) not in ATTACHMENT_TYPES:
        return None
    url, link_type = _attachment_url(item.get("url"))
    if url is None:
        return None
    media_type = item.get("mediaType") or link_type
    if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type.lower()):
        media_type = "application/octet-stream"
    blurhash = _extension(item, "toot", "blurhash")
    name = item.get("name")
    return AttachmentDoc(
        kind=item["type"],
        media_type=media_type.lower(),
        url=url,
        width=_dimension(item.get("width")),
        height=_dimension(item.get("height")),
        blurhash=blurhash if isinstance(blurhash, str) and _BLURHASH.match(blurhash) else None,
        name=name[:1500] if isinstance(name, str) else "",
    )


def _attachment_url(value: Any) -> tuple[str | None, str | None]:
    """(the http(s) URL, the Link's mediaType) of `url`: a string, a Link, or a list of them."""
    for entry in value if isinstance(value, list) else [value]:
        href = entry.get("href") if isinstance(entry, dict) else entry
        try:
            url = _http_url(href, "url")
        except InvalidDocument:
            continue
        link_type = entry.get("mediaType") if isinstance(entry, dict) else None
        return url, link_type if isinstance(link_type, str) else None
    return None, None


def _dimension(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100_000
    return value if ok else None


# --- sharing, in this pod's own vocabulary ------------------------------------------------

HEARTH_NS = "https://w3id.org/hearth/ns#"
SHARE_CONTEXT: dict[str, Any] = {
    "hearth": HEARTH_NS,
    "Share": "hearth:Share",
    "scope": "hearth:scope",
    "labels": "hearth:labels",
    "itemIds": "hearth:itemIds",
    "canRead": "hearth:canRead",
    "canWrite": "hearth:canWrite",
    "canDelete": "hearth:canDelete",
    "canShare": "hearth:canShare",
    "expiresAt": {"@id": "hearth:expiresAt", "@type": "xsd:dateTime"},
    "sharedItems": {"@id": "hearth:sharedItems", "@type": "@id"},
}
SHARE_SCOPES = ("all", "specific_tags", "specific_items")


def share_to_as(
    ap_id: str,
    owner_uri: str,
    grantee_uri: str,
    scope: str,
    labels: dict[str, str],
    item_uris: list[str],
    perms: dict[str, bool],
    expires_at: str | None,
    published: str,
    updated: str,
) -> dict[str, Any]:
    return {
        "id": ap_id,
        "type": "Share",
        "attributedTo": owner_uri,
        "to": [grantee_uri],
        "scope": scope,
        "labels": [{"id": k, "name": v} for k, v in sorted(labels.items())],
        "itemIds": item_uris,
        "canRead": perms["can_read"],
        "canWrite": perms["can_write"],
        "canDelete": perms["can_delete"],
        "canShare": perms["can_share"],
        "expiresAt": expires_at,
        "sharedItems": f"{ap_id}/items",
        "published": published,
        "updated": updated,
    }


@dataclass(frozen=True)
class ShareDoc:
    ap_id: str
    owner: str
    recipients: list[str]
    scope: str
    labels: dict[str, str]
    item_ids: list[str]
    can_read: bool
    can_write: bool
    can_delete: bool
    can_share: bool
    expires_at: str | None
    shared_items: str


def _list(value: Any) -> list[Any]:
    """A property meant to be a list; anything else (a number, an object) lists nothing."""
    return value if isinstance(value, list) else []


def share_from_as(obj: Any) -> ShareDoc:
    if not isinstance(obj, dict) or obj.get("type") != "Share":
        raise InvalidDocument("object is not a Share")
    ap_id = _http_url(obj.get("id"), "share id")
    owner = ref(obj.get("attributedTo"))
    if not owner:
        raise InvalidDocument("share has no owner")
    check_addressing(obj)
    scope = obj.get("scope")
    if scope not in SHARE_SCOPES:
        raise InvalidDocument("unknown share scope")
    labels = {}
    for label in _list(obj.get("labels")):
        if isinstance(label, dict) and isinstance(label.get("id"), str):
            labels[label["id"][:64]] = str(label.get("name", ""))[:100]
    items = [i for i in _list(obj.get("itemIds")) if isinstance(i, str)][:500]
    shared = _http_url(obj.get("sharedItems"), "sharedItems")
    if not same_origin(shared, ap_id) or not same_origin(owner, ap_id):
        raise InvalidDocument("a share lives on its owner's origin")
    expires = obj.get("expiresAt")
    return ShareDoc(
        ap_id=ap_id,
        owner=owner,
        recipients=refs(obj.get("to")),
        scope=scope,
        labels=labels,
        item_ids=items,
        can_read=obj.get("canRead") is True,
        can_write=obj.get("canWrite") is True,
        can_delete=obj.get("canDelete") is True,
        can_share=obj.get("canShare") is True,
        expires_at=expires if isinstance(expires, str) else None,
        shared_items=shared,
    )
