"""Documents as other servers send them (their shapes and contexts; hosts and values made up).

Each server names a context we do not ship: Pleroma and Akkoma their litepub context with a
default `@language`, Lemmy its own context first, GoToSocial its namespace for interaction
policies. None of them is ever fetched.
"""

from __future__ import annotations

from typing import Any

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----\n"


def litepub_context(host: str) -> list[Any]:
    """Pleroma's and Akkoma's: the litepub context (served by each instance) and `und`."""
    return [AS, f"https://{host}/schemas/litepub-0.1.jsonld", {"@language": "und"}]


LEMMY_CONTEXT: list[Any] = ["https://join-lemmy.org/context.json", AS]
GOTOSOCIAL_CONTEXT: list[Any] = [
    "https://gotosocial.org/ns",
    AS,
    {
        "Hashtag": "as:Hashtag",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji",
    },
]


def pleroma_person() -> dict[str, Any]:
    base = "https://pleroma.example/users/lain"
    return {
        "@context": litepub_context("pleroma.example"),
        "alsoKnownAs": [],
        "attachment": [],
        "capabilities": {"acceptsChatMessages": True},
        "discoverable": False,
        "endpoints": {
            "oauthAuthorizationEndpoint": "https://pleroma.example/oauth/authorize",
            "oauthRegistrationEndpoint": "https://pleroma.example/api/v1/apps",
            "oauthTokenEndpoint": "https://pleroma.example/oauth/token",
            "sharedInbox": "https://pleroma.example/inbox",
            "uploadMedia": "https://pleroma.example/api/ap/upload_media",
        },
        "featured": f"{base}/collections/featured",
        "followers": f"{base}/followers",
        "following": f"{base}/following",
        "icon": {"type": "Image", "url": "https://pleroma.example/media/5b/avatar.png"},
        "id": base,
        "inbox": f"{base}/inbox",
        "manuallyApprovesFollowers": False,
        "name": "lain :blobcat:",
        "outbox": f"{base}/outbox",
        "preferredUsername": "lain",
        "publicKey": {"id": f"{base}#main-key", "owner": base, "publicKeyPem": PEM},
        "summary": "cofe enjoyer",
        "tag": [
            {
                "icon": {"type": "Image", "url": "https://pleroma.example/emoji/blobcat.png"},
                "id": "https://pleroma.example/emoji/blobcat.png",
                "name": ":blobcat:",
                "type": "Emoji",
                "updated": "1970-01-01T00:00:00Z",
            }
        ],
        "type": "Person",
        "url": base,
        "vcard:bday": None,
    }


def akkoma_note() -> dict[str, Any]:
    """A public Akkoma post with a hashtag and a mention, in English (`contentMap`)."""
    actor = "https://akkoma.example/users/floatingghost"
    html = (
        '<p>new release <a class="hashtag" data-tag="akkoma" '
        'href="https://akkoma.example/tag/akkoma" rel="tag ugc">#akkoma</a> '
        '<span class="h-card"><a class="u-url mention" href="https://pleroma.example/users/lain"'
        ' rel="ugc">@<span>lain</span></a></span></p>'
    )
    return {
        "@context": litepub_context("akkoma.example"),
        "actor": actor,
        "attachment": [],
        "attributedTo": actor,
        "cc": [f"{actor}/followers"],
        "content": html,
        "contentMap": {"en": html},
        "context": "https://akkoma.example/contexts/0f1e2d3c",
        "conversation": "https://akkoma.example/contexts/0f1e2d3c",
        "id": "https://akkoma.example/objects/7d0b5b3e-8b1a-4a4e-9a53-1b1fd3ac4f1c",
        "published": "2024-04-02T09:15:27.125314Z",
        "sensitive": None,
        "source": {"content": "new release #akkoma @lain", "mediaType": "text/plain"},
        "summary": "",
        "tag": [
            {
                "href": "https://pleroma.example/users/lain",
                "name": "@lain@pleroma.example",
                "type": "Mention",
            },
            {"href": "https://akkoma.example/tags/akkoma", "name": "#akkoma", "type": "Hashtag"},
        ],
        "to": [PUBLIC, "https://pleroma.example/users/lain"],
        "type": "Note",
    }


def lemmy_person() -> dict[str, Any]:
    base = "https://lemmy.example/u/picard"
    return {
        "@context": LEMMY_CONTEXT,
        "type": "Person",
        "id": base,
        "preferredUsername": "picard",
        "inbox": f"{base}/inbox",
        "outbox": f"{base}/outbox",
        "publicKey": {"id": f"{base}#main-key", "owner": base, "publicKeyPem": PEM},
        "name": "Jean-Luc Picard",
        "summary": "<p>Captain of the <strong>Enterprise</strong>.</p>\n",
        "source": {"content": "Captain of the **Enterprise**.", "mediaType": "text/markdown"},
        "icon": {"type": "Image", "url": "https://lemmy.example/pictrs/image/ed9ej7.jpg"},
        "matrixUserId": "@picard:matrix.example",
        "endpoints": {"sharedInbox": "https://lemmy.example/inbox"},
        "published": "2020-01-17T01:38:22.348392Z",
    }


def lemmy_page(**fields: Any) -> dict[str, Any]:
    """A post in a Lemmy community: a link post (the link is a Link attachment), no text."""
    page = {
        "@context": LEMMY_CONTEXT,
        "type": "Page",
        "id": "https://lemmy.example/post/55143",
        "attributedTo": "https://lemmy.example/u/picard",
        "to": ["https://lemmy.example/c/tenforward", PUBLIC],
        "cc": [],
        "audience": "https://lemmy.example/c/tenforward",
        "name": "Warp cores & how they fail",
        "attachment": [{"href": "https://example.org/warp-cores", "type": "Link"}],
        "sensitive": False,
        "commentsEnabled": True,
        "stickied": False,
        "language": {"identifier": "en", "name": "English"},
        "published": "2024-03-01T12:00:00.000000Z",
    }
    page.update(fields)
    return page


def gotosocial_note() -> dict[str, Any]:
    """A public GoToSocial post with one hashtag (a single tag is sent as an object)."""
    actor = "https://gts.example/users/tobi"
    html = (
        '<p>look at this <a href="https://gts.example/tags/cats" class="mention hashtag" '
        'rel="tag nofollow noreferrer noopener" target="_blank">#<span>Cats</span></a></p>'
    )
    everyone = {"always": [PUBLIC, actor], "approvalRequired": []}
    return {
        "@context": GOTOSOCIAL_CONTEXT,
        "attachment": [],
        "attributedTo": actor,
        "cc": f"{actor}/followers",
        "content": html,
        "contentMap": {"en": html},
        "id": f"{actor}/statuses/01HW3KQ7Y0J9Z4XKJ3N5V8R2TB",
        "interactionPolicy": {"canAnnounce": everyone, "canLike": everyone, "canReply": everyone},
        "published": "2024-04-20T16:20:00Z",
        "replies": f"{actor}/statuses/01HW3KQ7Y0J9Z4XKJ3N5V8R2TB/replies",
        "sensitive": False,
        "summary": "",
        "tag": {"href": "https://gts.example/tags/cats", "name": "#Cats", "type": "Hashtag"},
        "to": PUBLIC,
        "type": "Note",
        "url": "https://gts.example/@tobi/statuses/01HW3KQ7Y0J9Z4XKJ3N5V8R2TB",
    }
