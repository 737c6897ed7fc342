"""Spaces as Group actors (FEP-1b12): the actor document, joining by Follow with an invite code,
and reading what a Follow or an Announce of a Group carries. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from federation.convert import ACTOR_CONTEXT, HEARTH_NS, activity, ref
from federation.jsonld import OUR_CONTEXT
from federation.urls import Urls
from node.services.text import render_plain
from node.store.spaces import Space

# Our terms on a Group and on the Follow that joins one (README: "Spaces vocabulary").
GROUP_CONTEXT: dict[str, Any] = {
    "hearth": HEARTH_NS,
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "joinMode": "hearth:joinMode",
    "inviteCode": "hearth:inviteCode",
}
_INVITE_KEYS = ("inviteCode", "hearth:inviteCode", HEARTH_NS + "inviteCode")
MAX_CODE = 100
MAX_MESSAGE = 2000


def group_to_as(space: Space, urls: Urls, public_key_pem: str, created: str) -> dict[str, Any]:
    """A space's Group actor. A private space shows only what joining it needs."""
    actor = urls.group(space.guid)
    return {
        "@context": [*OUR_CONTEXT, ACTOR_CONTEXT, GROUP_CONTEXT],
        "id": actor,
        "type": "Group",
        "preferredUsername": space.name,
        "name": space.display_name,
        "summary": render_plain(space.description) if space.public else "",
        "url": actor,
        "inbox": urls.group_inbox(space.guid),
        "outbox": urls.group_outbox(space.guid),
        "followers": urls.group_members(space.guid),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": space.join_mode != "instant",
        "discoverable": space.public,
        "joinMode": space.join_mode,
        "published": created,
        "publicKey": {"id": urls.key_id(actor), "owner": actor, "publicKeyPem": public_key_pem},
    }


def join_doc(
    follow_id: str, member_uri: str, group_uri: str, code: str | None, message: str
) -> dict[str, Any]:
    """A Follow of a Group, with the invite code (ours) and an application message."""
    doc = activity(follow_id, "Follow", member_uri, group_uri)
    if code or message:
        doc["@context"] = [*OUR_CONTEXT, GROUP_CONTEXT]
    if code:
        doc["inviteCode"] = code
    if message:
        doc["content"] = message
    return doc


def invite_code(follow: dict[str, Any]) -> str | None:
    for key in _INVITE_KEYS:
        value = follow.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_CODE:
            return value
    return None


def message_of(follow: dict[str, Any]) -> str:
    value = follow.get("content")
    return value[:MAX_MESSAGE] if isinstance(value, str) else ""


def addressed(obj: dict[str, Any]) -> list[str]:
    """Everyone an object or activity names as its audience: audience, to and cc."""
    out: list[str] = []
    for key in ("audience", "to", "cc"):
        value = obj.get(key)
        items = value if isinstance(value, list) else [value]
        out += [r for r in (ref(i) for i in items) if r]
    return list(dict.fromkeys(out))
