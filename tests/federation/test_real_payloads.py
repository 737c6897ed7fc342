"""Documents as Mastodon, GoToSocial, Misskey, Pleroma/Akkoma, Lemmy, PeerTube, Friendica and
Pixelfed send them (fixtures/), delivered signed to a real pod's inbox, and what the pod's API
shows afterwards.

The fixtures keep each server's shape and context; only hosts are rewritten: `remote.example`
becomes the test's remote pod and `local.example` the pod under test. `LOCAL_POST` stands for a
post of alice's, `OUR_FOLLOW` for the id of a Follow the pod sent, `ACTOR_DOCUMENT` for the
sender's own actor document.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import HostilePod, new_key, public_pem
from tests.support import Pod, User, wait_for

FIXTURES = Path(__file__).parent / "fixtures"
# The senders, each an actor at /users/{name} on the remote pod.
SENDERS = ("gargron", "tobi", "syuilo", "lain", "picard", "framasoft", "heluecht", "dansup")
# Tables anything accepted from the inbox writes to (besides the dedupe mark).
EFFECT_TABLES = ("posts", "interactions", "reactions", "follows", "notifications", "spaces")


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return new_key()


@dataclass
class World:
    pod: Pod
    alice: User
    remote: HostilePod
    key: RSAPrivateKey

    def fixture(self, name: str, **values: str) -> dict[str, Any]:
        text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
        text = text.replace("https://remote.example", self.remote.base)
        text = text.replace("remote.example", self.remote.host)
        text = text.replace("https://local.example", self.pod.url)
        text = text.replace("local.example", self.pod.host)
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        doc = json.loads(text)
        if doc.get("object") == "ACTOR_DOCUMENT":
            doc["object"] = self.remote.actor_doc(doc["actor"].rsplit("/", 1)[1])
        return doc

    async def deliver(
        self, doc: dict[str, Any], expect: int = 202, **options: Any
    ) -> dict[str, Any] | None:
        signer = doc["actor"].rsplit("/", 1)[1]
        status, data = await self.remote.post(
            f"{self.pod.url}/inbox", doc, self.pod.clock.now(), signer=signer, **options
        )
        assert status == expect, (doc["type"], status, data)
        return data

    async def post_of(self, uri: str, who: User | None = None) -> dict[str, Any] | None:
        """The post with this ActivityPub id as `who` (alice) reads it; None if absent."""
        guid = await self.pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (uri,))
        if guid is None:
            return None
        resp, post = await self.pod.call("GET", f"/api/v1/posts/{guid}", who or self.alice)
        return post if resp.status == 200 else None

    async def write(self, body: str = "hello fediverse", **fields: Any) -> dict[str, Any]:
        _, post = await self.pod.call(
            "POST", "/api/v1/posts", self.alice, json={"body": body, **fields}, expect=201
        )
        return post

    async def seen(self, post: dict[str, Any]) -> dict[str, Any]:
        _, out = await self.pod.call("GET", f"/api/v1/posts/{post['id']}", self.alice, expect=200)
        return out

    async def effects(self) -> dict[str, int]:
        db = self.pod.app[DB]
        return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in EFFECT_TABLES}

    async def followed(self, name: str) -> None:
        """Alice follows `name`, who accepts (Mastodon's Accept, embedding the Follow)."""
        await self.pod.call(
            "POST", "/api/v1/follows", self.alice,
            json={"target": self.remote.handle(name)}, expect=201,
        )  # fmt: skip

        async def sent() -> list[dict[str, Any]]:
            docs = [json.loads(body) for _, body in self.remote.received]
            return [d for d in docs if d["type"] == "Follow" and d["object"].endswith(name)]

        ours = (await wait_for(sent))[0]
        accept = self.fixture("mastodon_accept_follow", OUR_FOLLOW=ours["id"])
        accept = json.loads(json.dumps(accept).replace("/users/gargron", f"/users/{name}"))
        await self.deliver(accept)

    async def notifications(self) -> list[str]:
        _, items = await self.pod.call("GET", "/api/v1/notifications", self.alice, expect=200)
        return [n["kind"] for n in items]


@pytest.fixture
async def world(make_pod: PodFactory, key: RSAPrivateKey) -> AsyncIterator[World]:
    remote = await HostilePod().start()
    for name in SENDERS:
        remote.add_actor(name, key)
    pod = await make_pod()
    w = World(pod, await pod.register("alice"), remote, key)
    person = w.fixture("mastodon_person")
    remote.overrides["gargron"] = person
    yield w
    await remote.close()


# --- posts ----------------------------------------------------------------------------------


async def test_a_mastodon_post_is_created_edited_and_deleted(world: World) -> None:
    create = world.fixture("mastodon_create_note")
    uri = create["object"]["id"]
    await world.deliver(create)
    post = await world.post_of(uri)
    assert post is not None
    assert post["body"] == "Hello @alice, a cat :blobcat: #Caturday"
    assert "<script" not in post["html"] and "alert" not in post["html"]
    assert post["visibility"] == "public"
    assert post["tags"] == ["caturday"]
    assert (post["contentWarning"], post["sensitive"]) == ("", False)
    assert post["author"]["handle"] == world.remote.handle("gargron")
    assert post["author"]["displayName"] == "Eugen Rochko :verified:"
    [image] = post["attachments"]
    assert image["type"] == "Document"
    assert image["contentType"] == "image/jpeg"
    assert image["description"] == "A grey cat asleep on a keyboard"
    assert image["blurHash"] == "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"
    assert (image["width"], image["height"]) == (1200, 800)
    assert await world.notifications() == ["mention"]

    await world.deliver(world.fixture("mastodon_update_note"))
    edited = await world.post_of(uri)
    assert edited is not None
    assert edited["body"] == "Hello @alice, an edited cat #Caturday"
    assert (edited["contentWarning"], edited["sensitive"]) == ("cat pics", True)
    assert edited["attachments"][0]["description"] == "A grey cat asleep on a keyboard, edited"

    await world.deliver(world.fixture("mastodon_delete_tombstone"))
    assert await world.post_of(uri) is None
    # A replayed Create of a deleted post does not bring it back.
    again = world.fixture("mastodon_create_note")
    again["id"] += "-again"
    await world.deliver(again)
    assert await world.post_of(uri) is None


async def test_a_mastodon_reply_with_a_content_warning_joins_the_thread(world: World) -> None:
    parent = await world.write("what did you think of the film?")
    reply = world.fixture("mastodon_create_reply_cw", LOCAL_POST=parent["uri"])
    await world.deliver(reply)
    post = await world.post_of(reply["object"]["id"])
    assert post is not None
    assert post["body"] == "@alice the butler did it"
    assert (post["contentWarning"], post["sensitive"]) == ("Spoilers for the film", True)
    assert post["visibility"] == "followers"
    assert post["inReplyTo"] == parent["id"]
    _, comments = await world.pod.call(
        "GET", f"/api/v1/posts/{parent['id']}/comments", world.alice, expect=200
    )
    assert [c["id"] for c in comments] == [post["id"]]


async def test_a_mastodon_poll_is_shown_as_a_post_with_its_options(world: World) -> None:
    create = world.fixture("mastodon_create_question")
    await world.deliver(create)
    post = await world.post_of(create["object"]["id"])
    assert post is not None
    # We have no polls: the options follow the question, as text (a name is not markup).
    assert post["body"].startswith("Tea or coffee, @alice?")
    assert post["body"].split("\n")[-2:] == ["Tea", "Coffee & <b>cake</b>"]
    assert "<b>" not in post["html"]
    # A poll of several choices lists them in `anyOf`.
    several = world.fixture("mastodon_create_question")
    several["id"] += "-2"
    several["object"]["id"] += "-2"
    several["object"]["anyOf"] = several["object"].pop("oneOf")
    await world.deliver(several)
    post = await world.post_of(several["object"]["id"])
    assert post is not None
    assert post["body"].split("\n")[-2:] == ["Tea", "Coffee & <b>cake</b>"]


async def test_posts_from_other_servers_keep_their_media_mentions_and_tags(world: World) -> None:
    gts = world.fixture("gotosocial_create_note")
    await world.deliver(gts)
    post = await world.post_of(gts["object"]["id"])
    assert post is not None
    assert post["body"] == "hey @alice snow! #Dogs"
    assert (post["visibility"], post["tags"]) == ("public", ["dogs"])
    [image] = post["attachments"]
    assert (image["type"], image["contentType"]) == ("Image", "image/webp")
    assert (image["description"], image["blurHash"]) == (
        "Tobi's dog in the snow",
        "LGF5]+Yk^6#M@-5c,1J5@[or[Q6.",
    )

    pixelfed = world.fixture("pixelfed_create_note")
    await world.deliver(pixelfed)
    post = await world.post_of(pixelfed["object"]["id"])
    assert post is not None
    assert post["tags"] == ["photography"]
    assert [(a["type"], a["description"], a["width"]) for a in post["attachments"]] == [
        ("Image", "Orange sun setting behind hills", 1080),
        ("Image", "The same bay after dark", 1080),
    ]
    assert all(a["blurHash"] for a in post["attachments"])

    friendica = world.fixture("friendica_create_note")
    await world.deliver(friendica)
    post = await world.post_of(friendica["object"]["id"])
    assert post is not None
    assert post["body"].startswith("Greetings @alice from #friendica")
    assert post["tags"] == ["friendica"]
    assert [a["description"] for a in post["attachments"]] == ["a sunset"]

    misskey = world.fixture("misskey_create_quote", LOCAL_POST="https://example.org/notes/1")
    await world.deliver(misskey)
    post = await world.post_of(misskey["object"]["id"])
    assert post is not None
    assert post["body"].startswith("@alice@" + world.pod.host + " nice :misskey: #misskey")
    assert "RE: https://example.org/notes/1" in post["body"]
    assert post["tags"] == ["misskey"]
    assert await world.notifications() == ["mention"] * 4


async def test_a_pleroma_direct_message_is_direct(world: World) -> None:
    create = world.fixture("pleroma_create_direct")
    await world.deliver(create)
    post = await world.post_of(create["object"]["id"])
    assert post is not None
    assert (post["visibility"], post["body"]) == ("direct", "@alice just between us")
    bob = await world.pod.register("bob")
    assert await world.post_of(create["object"]["id"], bob) is None


async def test_replies_from_gotosocial_and_lemmy_thread_under_ours(world: World) -> None:
    parent = await world.write("a lovely post")
    for name in ("gotosocial_reply_approved", "lemmy_comment"):
        reply = world.fixture(name, LOCAL_POST=parent["uri"])
        await world.deliver(reply)
    _, comments = await world.pod.call(
        "GET", f"/api/v1/posts/{parent['id']}/comments", world.alice, expect=200
    )
    assert sorted(c["body"] for c in comments) == [
        f"Make it so, @alice@{world.pod.host}:\n\nwarp nine\nengage",  # a Markdown list
        "that's a lovely post",
    ]
    assert sorted(await world.notifications()) == ["comment", "comment"]


# --- interactions ---------------------------------------------------------------------------


async def test_likes_reshares_and_reactions_are_counted_and_undone(world: World) -> None:
    target = await world.write()
    local = {"LOCAL_POST": target["uri"]}

    async def state() -> tuple[int, int, list[dict[str, Any]]]:
        post = await world.seen(target)
        return post["counts"]["likes"], post["counts"]["reshares"], post["reactions"]

    await world.deliver(world.fixture("mastodon_like", **local))
    await world.deliver(world.fixture("gotosocial_like", **local))
    await world.deliver(world.fixture("mastodon_announce", **local))
    assert await state() == (2, 1, [])
    await world.deliver(world.fixture("mastodon_undo_like", **local))
    await world.deliver(world.fixture("mastodon_undo_announce", **local))
    assert await state() == (1, 0, [])

    # Reactions: Pleroma's EmojiReact and Misskey's Like with `_misskey_reaction`.
    await world.deliver(world.fixture("pleroma_emoji_react", **local))
    await world.deliver(world.fixture("misskey_like_unicode", **local))
    assert sorted((r["emoji"], r["count"]) for r in (await state())[2]) == [("🎉", 1), ("🔥", 1)]
    await world.deliver(world.fixture("pleroma_undo_emoji_react", **local))
    assert [r["emoji"] for r in (await state())[2]] == ["🎉"]

    # A custom emoji is not kept: Misskey's is a like then, an EmojiReact of one is nothing.
    before = await world.effects()
    await world.deliver(world.fixture("akkoma_emoji_react_custom", **local))
    assert await world.effects() == before
    await world.deliver(world.fixture("misskey_like_custom_emoji", **local))
    likes, _, reactions = await state()
    assert (likes, [r["emoji"] for r in reactions]) == (2, ["🎉"])


async def test_follow_undo_block_and_accept(world: World) -> None:
    async def followers() -> list[str]:
        _, items = await world.pod.call(
            "GET", "/api/v1/identities/current/followers", world.alice, expect=200
        )
        return [f["identity"]["handle"] for f in items]

    gargron = world.remote.handle("gargron")
    await world.deliver(world.fixture("mastodon_follow"))
    assert await followers() == [gargron]
    await world.deliver(world.fixture("mastodon_undo_follow"))
    assert await followers() == []
    await world.deliver(world.fixture("mastodon_follow"), expect=202)  # a replay: no effect
    assert await followers() == []

    # Alice follows gargron (locked); his Accept embeds the Follow with its id.
    world.remote.overrides["gargron"]["manuallyApprovesFollowers"] = True
    await world.pod.call(
        "POST", "/api/v1/follows", world.alice, json={"target": gargron}, expect=201
    )

    async def sent() -> list[dict[str, Any]]:
        docs = [json.loads(body) for _, body in world.remote.received]
        return [d for d in docs if d["type"] == "Follow"]

    ours = (await wait_for(sent))[0]
    assert ours["object"] == world.remote.actor("gargron")
    await world.deliver(world.fixture("mastodon_accept_follow", OUR_FOLLOW=ours["id"]))

    async def accepted() -> bool:
        _, items = await world.pod.call(
            "GET", "/api/v1/identities/current/following", world.alice, expect=200
        )
        return [(f["identity"]["handle"], f["state"]) for f in items] == [(gargron, "accepted")]

    await wait_for(accepted)

    # Then he blocks her: the follow ends.
    await world.deliver(world.fixture("mastodon_block"))
    _, items = await world.pod.call(
        "GET", "/api/v1/identities/current/following", world.alice, expect=200
    )
    assert items == []


async def test_a_profile_update_is_read_again(world: World) -> None:
    acct = f"/api/v1/lookup?acct={world.remote.handle('gargron')}"
    _, found = await world.pod.call("GET", acct, world.alice, expect=200)
    # Mastodon's fields: values are HTML (a link, its parts in spans), kept as their text.
    assert found["fields"] == [
        {"name": "Patreon", "value": "https://www.patreon.com/mastodon"},
        {"name": "Pronouns", "value": "he/him"},
    ]
    world.remote.overrides["gargron"]["name"] = "Eugen"
    world.remote.overrides["gargron"]["attachment"] = [
        {"type": "PropertyValue", "name": "Pronouns", "value": "they/them"}
    ]
    await world.deliver(world.fixture("mastodon_update_person"))
    _, found = await world.pod.call("GET", acct, world.alice, expect=200)
    assert found["displayName"] == "Eugen"
    assert "Founder of @Mastodon" in found["bio"]
    assert found["fields"] == [{"name": "Pronouns", "value": "they/them"}]


async def test_profile_fields_are_kept_as_text_only(world: World) -> None:
    """Field values come as HTML: only their text is kept, scripts and all markup gone, and
    names and values as long as a local profile's may be."""
    world.remote.overrides["gargron"]["attachment"] = [
        {
            "type": "PropertyValue",
            "name": "Site",
            "value": '<a href="javascript:alert(1)" onclick="x()">me</a><script>alert(2)</script>',
        },
        {"type": "PropertyValue", "name": "n" * 1000, "value": "<b>" + "v" * 1000 + "</b>"},
    ]
    await world.deliver(world.fixture("mastodon_update_person"))
    _, found = await world.pod.call(
        "GET", f"/api/v1/lookup?acct={world.remote.handle('gargron')}", world.alice, expect=200
    )
    assert found["fields"] == [
        {"name": "Site", "value": "me"},
        {"name": "n" * 255, "value": "v" * 255},
    ]


async def test_profile_text_loses_control_and_reordering_characters(world: World) -> None:
    """A name with an override left open would reverse what follows it where a client shows
    it (a notification's words, the handle); escapes and line breaks would forge lines. None
    of them is kept, in the name, the bio or the fields."""
    person = world.remote.overrides["gargron"]
    person["name"] = "Eugen\u202e\nnimda"
    person["summary"] = "<p>Founder\u2066 of\x1b[2J\u0085 Mastodon</p>"
    person["attachment"] = [
        {"type": "PropertyValue", "name": "Site\u202d\t", "value": "<b>me\u2069\r\nthere</b>"}
    ]
    await world.deliver(world.fixture("mastodon_update_person"))
    _, found = await world.pod.call(
        "GET", f"/api/v1/lookup?acct={world.remote.handle('gargron')}", world.alice, expect=200
    )
    assert found["displayName"] == "Eugen nimda"
    assert found["bio"] == "Founder of[2J Mastodon"
    assert found["fields"] == [{"name": "Site", "value": "me there"}]


async def test_a_name_that_shows_nothing_is_shown_as_the_username(world: World) -> None:
    """A name of blank fillers (the usual "blank name") would show a person as no one, as a
    missing name would if it were kept empty: it is the username then, as a missing one is."""
    world.remote.overrides["gargron"]["name"] = "\u3164\u200b "
    await world.deliver(world.fixture("mastodon_update_person"))
    _, found = await world.pod.call(
        "GET", f"/api/v1/lookup?acct={world.remote.handle('gargron')}", world.alice, expect=200
    )
    assert found["displayName"] == "gargron"


async def test_profile_fields_are_read_from_a_document_processed_as_json_ld(world: World) -> None:
    """A context that defines one of our terms inline has the document processed as JSON-LD:
    its fields come back as schema.org's terms, and are still read."""
    person = world.remote.overrides["gargron"]
    person["@context"] = [*person["@context"], {"url": {"@id": "as:url", "@type": "@id"}}]
    person["attachment"] = [{"type": "PropertyValue", "name": "Pronouns", "value": "they/them"}]
    person.update(discoverable=False, manuallyApprovesFollowers=True)
    await world.deliver(world.fixture("mastodon_update_person"))
    _, found = await world.pod.call(
        "GET", f"/api/v1/lookup?acct={world.remote.handle('gargron')}", world.alice, expect=200
    )
    assert found["fields"] == [{"name": "Pronouns", "value": "they/them"}]
    # Mastodon's own terms too: an account that asked to stay out of discovery stays out.
    assert (found["discoverable"], found["locked"]) == (False, True)


async def test_a_mastodon_move_has_alice_follow_the_new_account(world: World) -> None:
    await world.followed("gargron")
    before = await world.effects()
    # As captured, to a server that cannot be reached here: nothing proves it, nothing changes.
    await world.deliver(world.fixture("mastodon_move"), expect=422)
    assert await world.effects() == before

    new = world.remote.add_actor("gargron2", world.key, alsoKnownAs=[world.remote.actor("gargron")])
    move = world.fixture("mastodon_move")
    move["target"] = new
    await world.deliver(move)
    rows = await world.pod.app[DB].fetchall(
        "SELECT i.uri, f.state FROM follows f JOIN identities i ON i.guid = f.followee_guid"
    )
    assert [(r[0], r[1]) for r in rows] == [(new, "pending")]

    async def asked() -> list[dict[str, Any]]:
        docs = [json.loads(body) for _, body in world.remote.received]
        return [d for d in docs if d["type"] == "Follow" and d["object"] == new]

    await wait_for(asked)


# --- what is not kept -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "pleroma_chat_message",
        "lemmy_dislike",
        "peertube_create_video",
        "gotosocial_like_request",
    ],
)
async def test_unsupported_activities_are_accepted_and_leave_nothing(
    world: World, name: str
) -> None:
    target = await world.write()
    before = await world.effects()
    await world.deliver(world.fixture(name, LOCAL_POST=target["uri"]))
    assert await world.effects() == before
    post = await world.seen(target)
    assert (post["counts"]["likes"], post["reactions"]) == (0, [])


async def test_a_report_from_an_instance_actor_is_accepted_and_leaves_nothing(
    world: World,
) -> None:
    target = await world.write()
    actor = f"{world.remote.base}/actor"
    world.remote.documents["/actor"] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor,
        "type": "Application",
        "preferredUsername": world.remote.host,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "publicKey": {"id": f"{actor}#main-key", "owner": actor,
                      "publicKeyPem": public_pem(world.key)},
    }  # fmt: skip
    before = await world.effects()
    flag = world.fixture("mastodon_flag", LOCAL_POST=target["uri"])
    status, data = await world.remote.post(
        f"{world.pod.url}/inbox", flag, world.pod.clock.now(), signer="gargron",
        key=world.key, key_id=f"{actor}#main-key",
    )  # fmt: skip
    assert status == 202, data
    assert await world.effects() == before


async def test_a_reshared_video_is_not_kept_and_not_fetched_again(world: World) -> None:
    """Someone alice follows reshares a PeerTube video: we show no videos, so it is taken as
    seen and left (202, as Mastodon answers), not refused as unfetchable and fetched anew on
    each replay."""
    await world.followed("gargron")
    create = world.fixture("peertube_create_video")
    video = create["object"]
    path = urlsplit(video["id"]).path
    world.remote.documents[path] = {"@context": create["@context"], **video}
    before = await world.effects()
    reshare = world.fixture("mastodon_announce", LOCAL_POST=video["id"])
    await world.deliver(reshare)
    await world.deliver(reshare)
    assert world.remote.fetches(path) == 1
    assert await world.effects() == before


async def test_a_followed_peertube_channel_announcing_its_videos_leaves_nothing(
    world: World,
) -> None:
    """A PeerTube channel is a Group: its Announces of its Videos (by URI, or a relayed Create)
    are taken and left, as we show no videos, rather than refused as unusable."""
    world.remote.add_actor("framasoft_channel", world.key, type="Group")
    await world.followed("framasoft_channel")
    create = world.fixture("peertube_create_video")
    video = create["object"]
    world.remote.documents[urlsplit(video["id"]).path] = {"@context": create["@context"], **video}
    before = await world.effects()
    await world.deliver(world.fixture("peertube_announce_video"))
    relayed = world.fixture("peertube_announce_video")
    relayed["id"] += "-create"
    relayed["object"] = {k: v for k, v in create.items() if k != "@context"}
    await world.deliver(relayed)
    # Only our record of the channel as a space (a followed Group is one) is new.
    assert {**await world.effects(), "spaces": 0} == {**before, "spaces": 0}
