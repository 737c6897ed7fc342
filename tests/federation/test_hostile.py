"""A hostile remote pod against a real one: forged, stale, replayed and misdirected activities.

Every refusal is checked twice: by the HTTP status (and error code), and by showing that nothing
changed on the victim pod. Every kind of attack also has a well-formed twin that is accepted, so
a pod that refused everything would fail here too.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpsig as ref_httpsig  # an independent implementation
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from multidict import CIMultiDict

from federation.actors import KEY_FETCHES_PER_HOST
from federation.convert import MAX_ADDRESSES, MAX_MARKUP
from federation.refetch import HOST_REFETCHES
from federation.routes import FEDERATION
from node.appkeys import DB
from node.clock import ManualClock
from tests.conftest import PodFactory
from tests.hostile import (
    AS_CONTEXT,
    AS_PUBLIC,
    CAVAGE_COVERED,
    RFC9421_COVERED,
    HostilePod,
    new_key,
    public_pem,
    sign_cavage,
)
from tests.support import Pod, User, wait_for
from tests.test_cli import run, write_config
from tests.unit.dialects import GOTOSOCIAL_CONTEXT, LEMMY_CONTEXT, litepub_context

# Tables an accepted activity writes to; a refused one must leave all of them as they were.
EFFECT_TABLES = ("follows", "posts", "interactions", "tombstones", "inbox_seen", "outbox")


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    """Two RSA-2048 keys for the whole module (generating them is the slow part)."""
    return new_key(), new_key()


async def _hostile(keys: tuple[RSAPrivateKey, RSAPrivateKey]) -> HostilePod:
    hostile = await HostilePod().start()
    hostile.add_actor("mallory", keys[0])
    hostile.add_actor("eve", keys[1])
    return hostile


@pytest.fixture
async def hostile(keys: tuple[RSAPrivateKey, RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    pod = await _hostile(keys)
    yield pod
    await pod.close()


@pytest.fixture
async def other(keys: tuple[RSAPrivateKey, RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    """A second hostile pod: another origin (127.0.0.1 on another port)."""
    pod = await _hostile(keys)
    yield pod
    await pod.close()


@dataclass
class Scene:
    """A victim pod with alice, and the hostile pod attacking it."""

    pod: Pod
    alice: User
    hostile: HostilePod

    @property
    def inbox(self) -> str:
        return f"{self.pod.url}/inbox"

    @property
    def alice_inbox(self) -> str:
        return f"{self.pod.url}/users/alice/inbox"

    @property
    def alice_uri(self) -> str:
        return f"{self.pod.url}/users/alice"

    def now(self) -> datetime:
        return self.pod.clock.now()

    def pass_refetch_interval(self) -> None:
        """Move time on until a key fetched again may be fetched again once more."""
        seconds = self.pod.config.federation.key_refetch_interval_seconds
        self.pod.clock.advance(timedelta(seconds=seconds))

    def follow(self, signer: str = "mallory") -> dict[str, Any]:
        return self.hostile.activity(signer, "Follow", self.alice_uri)

    async def post(
        self, activity: dict[str, Any], signer: str = "mallory", url: str | None = None, **opts: Any
    ) -> tuple[int, Any]:
        return await self.hostile.post(
            url or self.inbox, activity, self.now(), signer=signer, **opts
        )

    async def accepted(self, activity: dict[str, Any], signer: str = "mallory") -> None:
        status, data = await self.post(activity, signer)
        assert status == 202, data

    async def followers(self) -> list[str]:
        _, items = await self.pod.call(
            "GET", "/api/v1/identities/current/followers", self.alice, expect=200
        )
        return [f["identity"]["handle"] for f in items]

    async def state(self) -> dict[str, int]:
        return await effects(self.pod)

    async def post_json(self, uri: str) -> dict[str, Any] | None:
        """The post with this ActivityPub id as alice reads it, None if absent."""
        guid = await self.pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (uri,))
        if guid is None:
            return None
        _, post = await self.pod.call("GET", f"/api/v1/posts/{guid}", self.alice, expect=200)
        return post

    async def post_body(self, uri: str) -> str | None:
        """The body of the post with this ActivityPub id as alice reads it, None if absent."""
        post = await self.post_json(uri)
        return None if post is None else post["body"]


async def effects(pod: Pod) -> dict[str, int]:
    db = pod.app[DB]
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in EFFECT_TABLES}


@pytest.fixture
async def scene(make_pod: PodFactory, hostile: HostilePod) -> Scene:
    pod = await make_pod()
    return Scene(pod, await pod.register("alice"), hostile)


def without_seen(state: dict[str, int]) -> dict[str, int]:
    """The effects but the dedupe mark (an ignored activity is still marked as seen)."""
    return {table: n for table, n in state.items() if table != "inbox_seen"}


def _error(data: Any) -> str | None:
    return data.get("error") if isinstance(data, dict) else None


# --- well-formed activities are accepted ----------------------------------------------------


async def test_signed_follow_is_accepted_and_answered(scene: Scene) -> None:
    hostile = scene.hostile
    follow = scene.follow()
    status, data = await scene.post(follow)
    assert status == 202, data
    assert await scene.followers() == [hostile.handle("mallory")]
    assert hostile.fetches("/users/mallory") == 1

    async def answered() -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in hostile.received]

    accept = (await wait_for(answered))[0]
    assert accept["type"] == "Accept"
    assert accept["actor"] == scene.alice_uri
    obj = accept["object"]
    assert (obj if isinstance(obj, str) else obj["id"]) == follow["id"]

    # The pod's own signed delivery, captured by the hostile pod and played back to the pod:
    # it was signed for the hostile pod's Host, so it does not verify here.
    headers, body = hostile.received[0]
    before = await scene.state()
    replay = {k: v for k, v in headers.items() if k.lower() not in ("content-length",)}
    status, data = await hostile.send(scene.inbox, body, replay)
    assert (status, _error(data)) == (401, "host_mismatch")
    assert await scene.state() == before


@pytest.mark.parametrize(
    ("inbox", "options"),
    [
        ("personal", {"scheme": "rfc9421"}),
        ("shared", {"scheme": "rfc9421", "alg": "rsa-pss-sha512"}),
        ("shared", {"algorithm": "hs2019"}),
        ("personal", {"algorithm": None}),  # no algorithm named: hs2019, from the key
    ],
    ids=["rfc9421", "rfc9421-pss", "cavage-hs2019", "cavage-no-algorithm"],
)
async def test_other_signature_flavours_are_accepted(
    scene: Scene, inbox: str, options: dict[str, Any]
) -> None:
    url = scene.alice_inbox if inbox == "personal" else scene.inbox
    status, data = await scene.post(scene.follow(), url=url, **options)
    assert status == 202, data
    assert await scene.followers() == [scene.hostile.handle("mallory")]


# --- other servers' documents are read as they mean them ---------------------------------


def pleroma_style(hostile: HostilePod) -> dict[str, Any]:
    """What a Pleroma (or Akkoma) actor document has that ours do not, its context first."""
    return {
        "@context": litepub_context(hostile.host),
        "capabilities": {"acceptsChatMessages": True},
        "alsoKnownAs": [],
        "vcard:bday": None,
    }


def lemmy_style(hostile: HostilePod) -> dict[str, Any]:
    return {
        "@context": LEMMY_CONTEXT,
        "matrixUserId": "@friend:matrix.example",
        "source": {"content": "Hi *there*", "mediaType": "text/markdown"},
    }


@pytest.mark.parametrize("style", [pleroma_style, lemmy_style], ids=["pleroma", "lemmy"])
async def test_follows_from_actors_naming_contexts_we_do_not_ship(
    scene: Scene,
    keys: tuple[RSAPrivateKey, RSAPrivateKey],
    style: Callable[[HostilePod], dict[str, Any]],
) -> None:
    hostile = scene.hostile
    extra = style(hostile)
    hostile.add_actor("friend", keys[0], **extra)
    await scene.accepted({**scene.follow("friend"), "@context": extra["@context"]}, "friend")
    assert await scene.followers() == [hostile.handle("friend")]


async def _post_of(scene: Scene, uri: str) -> dict[str, Any]:
    guid = await scene.pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (uri,))
    _, post = await scene.pod.call("GET", f"/api/v1/posts/{guid}", scene.alice, expect=200)
    return post


async def test_a_gotosocial_note_keeps_its_hashtag(scene: Scene) -> None:
    hostile = scene.hostile
    tag = {"type": "Hashtag", "name": "#Cats", "href": f"{hostile.base}/tags/cats"}
    note = hostile.note("mallory", "look #Cats", [AS_PUBLIC, scene.alice_uri], tag=tag)
    await scene.accepted(
        {**hostile.activity("mallory", "Create", note), "@context": GOTOSOCIAL_CONTEXT}
    )
    post = await _post_of(scene, note["id"])
    assert post["tags"] == ["cats"]
    _, tagged = await scene.pod.call("GET", "/api/v1/tags/cats/posts", scene.alice, expect=200)
    assert [p["id"] for p in tagged] == [post["id"]]


async def test_a_lemmy_link_post_keeps_its_title_and_link(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    hostile.add_actor("picard", keys[0], **{"@context": LEMMY_CONTEXT})
    page = {
        "id": hostile.new_id("picard", "post"),
        "type": "Page",
        "attributedTo": hostile.actor("picard"),
        "to": [scene.alice_uri, AS_PUBLIC],
        "cc": [],
        "name": "Warp cores & how they fail",
        "attachment": [{"type": "Link", "href": "https://example.org/warp-cores"}],
        "mediaType": "text/html",
        "sensitive": False,
    }
    create = {**hostile.activity("picard", "Create", page), "@context": LEMMY_CONTEXT}
    await scene.accepted(create, "picard")
    post = await _post_of(scene, page["id"])
    assert post["body"] == "Warp cores & how they fail\n\nhttps://example.org/warp-cores"
    assert 'href="https://example.org/warp-cores"' in post["html"]


# --- signatures that must be refused ------------------------------------------------------


@dataclass
class Forge:
    """What a forged request is made from: who signs, what is sent where, a key not theirs."""

    scene: Scene
    signer: str
    url: str
    body: bytes
    spare: RSAPrivateKey

    def sign(self, url: str | None = None, **options: Any) -> dict[str, str]:
        s = self.scene
        return s.hostile.signed(url or self.url, self.body, s.now(), signer=self.signer, **options)


Build = Callable[[Forge], dict[str, str]]


def cavage(shift: timedelta = timedelta(0), **options: Any) -> Build:
    def build(f: Forge) -> dict[str, str]:
        s = f.scene
        return s.hostile.signed(f.url, f.body, s.now() + shift, signer=f.signer, **options)

    return build


def rfc9421(shift: timedelta = timedelta(0), **options: Any) -> Build:
    return cavage(shift, scheme="rfc9421", **options)


def unsigned(f: Forge) -> dict[str, str]:
    headers = f.sign()
    del headers["signature"]
    return headers


def unparseable(f: Forge) -> dict[str, str]:
    headers = f.sign()
    headers["signature"] = headers["signature"].replace('",', '" ;', 1)
    return headers


def other_target(f: Forge) -> dict[str, str]:
    """Signed for alice's inbox, sent to the shared one."""
    return f.sign(f.scene.alice_inbox)


def wrong_key(scheme: str) -> Build:
    return lambda f: f.sign(scheme=scheme, key=f.spare)


def unknown_key(f: Forge) -> dict[str, str]:
    return f.sign(key_id=f.scene.hostile.key_id("nobody"))


def without(covered: tuple[str, ...], *names: str) -> tuple[str, ...]:
    return tuple(c for c in covered if c not in names)


OTHER_DIGEST = "SHA-256=" + base64.b64encode(hashlib.sha256(b"{}").digest()).decode()
OTHER_CONTENT_DIGEST = "sha-256=:" + OTHER_DIGEST.removeprefix("SHA-256=") + ":"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

BAD_SIGNATURES: dict[str, tuple[Build, str]] = {
    "unsigned": (unsigned, "signature_missing"),
    "unparseable": (unparseable, "signature_malformed"),
    "unknown-algorithm": (cavage(algorithm="hmac-sha256"), "algorithm_unsupported"),
    "date-stale": (cavage(-HOUR - MINUTE), "date_out_of_window"),
    "date-future": (cavage(HOUR + MINUTE), "date_out_of_window"),
    "date-not-covered": (cavage(covered=without(CAVAGE_COVERED, "date")), "header_not_signed"),
    "digest-missing": (
        cavage(covered=without(CAVAGE_COVERED, "digest"), omit=("digest",)),
        "header_not_signed",
    ),
    "digest-not-covered": (cavage(covered=without(CAVAGE_COVERED, "digest")), "header_not_signed"),
    "digest-covered-but-absent": (cavage(omit=("digest",)), "digest_missing"),
    "digest-mismatch": (cavage(values={"digest": OTHER_DIGEST}), "digest_mismatch"),
    "host-not-covered": (cavage(covered=without(CAVAGE_COVERED, "host")), "header_not_signed"),
    "request-target-not-covered": (
        cavage(covered=without(CAVAGE_COVERED, "(request-target)")),
        "header_not_signed",
    ),
    "host-mismatch": (cavage(values={"host": "pod.example"}), "host_mismatch"),
    "signed-for-another-path": (other_target, "signature_invalid"),
    "wrong-key": (wrong_key("cavage"), "signature_invalid"),
    "unknown-key": (unknown_key, "signature_key_unknown"),
    "9421-unknown-algorithm": (rfc9421(alg="hmac-sha256"), "algorithm_unsupported"),
    "9421-content-digest-missing": (
        rfc9421(covered=without(RFC9421_COVERED, "content-digest"), omit=("content-digest",)),
        "header_not_signed",
    ),
    "9421-content-digest-mismatch": (
        rfc9421(values={"content-digest": OTHER_CONTENT_DIGEST}),
        "digest_mismatch",
    ),
    "9421-method-not-covered": (
        rfc9421(covered=without(RFC9421_COVERED, "@method")),
        "header_not_signed",
    ),
    "9421-target-uri-not-covered": (
        rfc9421(covered=without(RFC9421_COVERED, "@target-uri")),
        "header_not_signed",
    ),
    "9421-created-stale": (
        rfc9421(-HOUR - MINUTE, covered=without(RFC9421_COVERED, "date")),
        "date_out_of_window",
    ),
    "9421-date-future": (rfc9421(HOUR + MINUTE), "date_out_of_window"),
    "9421-host-mismatch": (rfc9421(values={"host": "pod.example"}), "host_mismatch"),
    "9421-wrong-key": (wrong_key("rfc9421"), "signature_invalid"),
}


async def test_bad_signatures_are_refused(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """Each case: a Follow from a new actor, tampered with, refused and without effect; then
    the same Follow signed properly, accepted (so the refusal was the tampering's doing)."""
    hostile = scene.hostile
    failures = []
    for n, (case, (build, code)) in enumerate(BAD_SIGNATURES.items()):
        name = f"forger{n}"
        hostile.add_actor(name, keys[0])
        follow = scene.follow(name)
        body = json.dumps(follow).encode()
        before = (await scene.state(), await scene.followers())
        headers = build(Forge(scene, name, scene.inbox, body, keys[1]))
        status, data = await hostile.send(scene.inbox, body, headers)
        if (status, _error(data)) != (401, code):
            failures.append(f"{case}: expected 401 {code}, got {status} {data}")
        if (await scene.state(), await scene.followers()) != before:
            failures.append(f"{case}: the refused Follow changed something")
        status, data = await scene.post(follow, signer=name)
        if status != 202 or hostile.handle(name) not in await scene.followers():
            failures.append(f"{case}: the well-signed Follow was not accepted: {status} {data}")
    assert failures == []


# --- the signer must be the actor -----------------------------------------------------------


async def test_key_owner_must_be_the_actor(scene: Scene, other: HostilePod) -> None:
    hostile = scene.hostile
    before = await scene.state()

    # Signed by mallory here, claiming to be mallory on another host.
    impostor = other.activity("mallory", "Follow", scene.alice_uri)
    impostor["id"] = hostile.new_id("mallory")
    status, data = await scene.post(impostor)
    assert (status, _error(data)) == (403, "actor_mismatch")

    # Signed by mallory, claiming to be eve on the same host.
    status, data = await scene.post(scene.follow("eve"), signer="mallory")
    assert (status, _error(data)) == (403, "actor_mismatch")

    # A JSON-LD alias that slips a second `actor` past a reader of plain JSON.
    sneaky = scene.follow()
    sneaky["@context"] = [*AS_CONTEXT, {"by": {"@id": "as:actor", "@type": "@id"}}]
    sneaky["by"] = other.actor("mallory")
    status, data = await scene.post(sneaky)
    assert (status, _error(data)) == (403, "actor_mismatch")

    # The activity's own id on another origin than its actor.
    foreign_id = scene.follow()
    foreign_id["id"] = other.new_id("mallory")
    status, data = await scene.post(foreign_id)
    assert (status, _error(data)) == (403, "origin_mismatch")

    assert await scene.state() == before
    assert await scene.followers() == []
    assert other.requests == []  # the claimed actor was never even looked up
    await scene.accepted(scene.follow())


# --- limits on the request itself -----------------------------------------------------------


async def test_size_and_media_type_limits(scene: Scene) -> None:
    hostile = scene.hostile
    before = await scene.state()

    def signed(body: bytes, **options: Any) -> dict[str, str]:
        return hostile.signed(scene.inbox, body, scene.now(), signer="mallory", **options)

    follow = scene.follow()
    huge = dict(follow, content="x" * (10 * 1024 * 1024))
    body = json.dumps(huge).encode()
    status, data = await hostile.send(scene.inbox, body, signed(body))
    assert (status, _error(data)) == (413, "payload_too_large")

    # A small gzip body that inflates to 20 MB: the limit holds on what is read, not what is sent.
    bomb = gzip.compress(json.dumps(dict(follow, content=" " * (20 * 1024 * 1024))).encode())
    headers = dict(signed(bomb), **{"content-encoding": "gzip"})
    status, data = await hostile.send(scene.inbox, bomb, headers)
    assert status == 413, data

    body = json.dumps(follow).encode()
    for media_type in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
        status, data = await hostile.send(scene.inbox, body, signed(body, content_type=media_type))
        assert (status, _error(data)) == (415, "unsupported_media_type"), media_type

    assert await scene.state() == before
    assert await scene.followers() == []
    await scene.accepted(follow)  # the same activity, small and typed right


async def test_a_digest_repeated_many_times_is_computed_once(scene: Scene) -> None:
    """Digest values of one algorithm are all checked against one hash of the body: a megabyte
    body sent with a hundred Digest headers of a hundred values each is not hashed 10,000 times
    (seconds of the event loop, before any key is fetched)."""
    hostile = scene.hostile
    follow = dict(
        scene.follow(), content="x" * (scene.pod.config.federation.max_inbox_bytes - 1024)
    )
    body = json.dumps(follow).encode()
    one = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    line = ",".join([one] * 100)
    lines = 100
    headers = hostile.signed(
        scene.inbox, body, scene.now(), signer="mallory",
        values={"digest": ", ".join([line] * lines)},
    )  # fmt: skip
    sent = CIMultiDict((k, v) for k, v in headers.items() if k != "digest")
    for _ in range(lines):
        sent.add("digest", line)
    started = time.monotonic()
    status, data = await hostile.send(scene.inbox, body, sent)
    elapsed = time.monotonic() - started
    assert status == 202, data
    assert elapsed < 3.0, elapsed
    assert await scene.followers() == [hostile.handle("mallory")]


async def test_floods_of_recipients_are_refused(scene: Scene) -> None:
    hostile, alice = scene.hostile, scene.alice_uri
    # Every entry names alice, spelt differently: each would cost a look-up.
    many = [f"{alice}?{i}" for i in range(MAX_ADDRESSES + 1)]
    mentions = [{"type": "Mention", "href": uri} for uri in many]
    share = hostile.share("mallory", alice)
    floods = [
        hostile.activity("mallory", "Create", hostile.note("mallory", "to", many)),
        hostile.activity("mallory", "Create", hostile.note("mallory", "cc", [alice], cc=many)),
        hostile.activity("mallory", "Create", hostile.note("mallory", "a", [alice], audience=many)),
        hostile.activity("mallory", "Create", hostile.note("mallory", "t", [alice], tag=mentions)),
        hostile.activity("mallory", "Create", hostile.note("mallory", "x", [alice]), to=many),
        hostile.activity("mallory", "Update", hostile.note("mallory", "x", [alice]), bcc=many),
        hostile.share_activity("mallory", "Create", dict(share, to=many)),
    ]
    before = await scene.state()
    for activity in floods:
        status, data = await scene.post(activity)
        assert (status, _error(data)) == (422, "invalid_object"), data
    assert await scene.state() == before
    assert await incoming_shares(scene) == []

    # The most a list may hold is accepted; alice, named 500 ways, is one recipient.
    note = hostile.note("mallory", "to all of alice", many[:MAX_ADDRESSES], cc=[alice],
                        tag=mentions[:MAX_ADDRESSES])  # fmt: skip
    await scene.accepted(hostile.activity("mallory", "Create", note))
    db = scene.pod.app[DB]
    guid = await db.fetchval("SELECT guid FROM posts WHERE ap_id = ?", (note["id"],))
    assert guid is not None
    recipients = "SELECT count(*) FROM post_recipients WHERE post_guid = ?"
    assert await db.fetchval(recipients, (guid,)) == 1
    share = dict(share, to=many[:MAX_ADDRESSES])
    await scene.accepted(hostile.share_activity("mallory", "Create", share))
    assert len(await incoming_shares(scene)) == 1


# --- objects must come from their author ----------------------------------------------------


async def test_create_of_an_object_from_another_origin(scene: Scene, other: HostilePod) -> None:
    hostile = scene.hostile
    before = await scene.state()

    note = hostile.note("mallory", "forged", [scene.alice_uri])
    note["id"] = other.new_id("mallory", "notes")  # the object lives elsewhere
    status, data = await scene.post(hostile.activity("mallory", "Create", note))
    assert (status, _error(data)) == (403, "origin_mismatch")

    note = other.note("mallory", "forged", [scene.alice_uri])  # author and id elsewhere
    status, data = await scene.post(hostile.activity("mallory", "Create", note))
    assert (status, _error(data)) == (403, "origin_mismatch")

    note = hostile.note("eve", "forged", [scene.alice_uri])  # same origin, another author
    status, data = await scene.post(hostile.activity("mallory", "Create", note))
    assert (status, _error(data)) == (403, "actor_mismatch")

    assert await scene.state() == before

    note = hostile.note("mallory", "genuine", [scene.alice_uri])
    await scene.accepted(hostile.activity("mallory", "Create", note))
    assert await scene.post_body(note["id"]) == "genuine"


async def test_update_and_delete_of_a_real_pods_post(make_pod: PodFactory, scene: Scene) -> None:
    a, alice, hostile = scene.pod, scene.alice, scene.hostile
    b = await make_pod()
    bob = await b.register("bob")
    await a.call("POST", "/api/v1/follows", alice, json={"target": f"bob@{b.host}"}, expect=201)

    async def following() -> bool:
        _, items = await a.call("GET", "/api/v1/identities/current/following", alice, expect=200)
        return bool(items) and items[0]["state"] == "accepted"

    await wait_for(following)
    _, bobs = await b.call("POST", "/api/v1/posts", bob, json={"body": "by bob"}, expect=201)
    await wait_for(lambda: scene.post_body(bobs["uri"]))
    _, mine = await a.call("POST", "/api/v1/posts", alice, json={"body": "by alice"}, expect=201)
    follow_id = await a.app[DB].fetchval("SELECT ap_id FROM follows")
    before = without_seen(await scene.state())

    bob_uri = f"{b.url}/users/bob"
    forged = {
        "id": bobs["uri"],
        "type": "Note",
        "attributedTo": bob_uri,
        "content": "<p>defaced</p>",
        "to": [AS_PUBLIC],
    }
    refused = [
        ("Update", forged),
        ("Update", dict(forged, attributedTo=hostile.actor("mallory"))),
        ("Update", dict(forged, id=mine["uri"], attributedTo=scene.alice_uri)),
        ("Delete", bobs["uri"]),
        ("Delete", {"id": bobs["uri"], "type": "Tombstone"}),
        ("Delete", mine["uri"]),
        ("Delete", bob_uri),
        ("Delete", scene.alice_uri),
    ]
    for kind, obj in refused:
        status, data = await scene.post(hostile.activity("mallory", kind, obj))
        # Our own posts may be changed through a share; mallory holds none: plain 403.
        target = obj if isinstance(obj, str) else obj["id"]
        expected = "forbidden" if target == mine["uri"] else "origin_mismatch"
        assert (status, _error(data)) == (403, expected), (kind, obj)
    # Answering or taking back alice's follow of bob in bob's place: ignored.
    theirs = {"id": follow_id, "type": "Follow", "actor": scene.alice_uri, "object": bob_uri}
    for kind in ("Reject", "Undo", "Block"):
        obj = theirs if kind != "Block" else scene.alice_uri
        status, data = await scene.post(hostile.activity("mallory", kind, obj))
        assert status in (202, 403), (kind, data)

    assert without_seen(await scene.state()) == before
    assert await scene.post_body(bobs["uri"]) == "by bob"
    assert await scene.post_body(mine["uri"]) == "by alice"
    assert await following()


async def test_update_and_delete_by_another_actor_of_the_same_host(scene: Scene) -> None:
    hostile = scene.hostile
    note = hostile.note("eve", "by eve", [scene.alice_uri])
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    assert await scene.post_body(note["id"]) == "by eve"
    before = await scene.state()

    edited = dict(note, content="<p>defaced</p>")
    status, data = await scene.post(hostile.activity("mallory", "Update", edited))
    assert (status, _error(data)) == (403, "actor_mismatch")

    # Same origin, so the origin rule lets these through to the handler, which must still
    # refuse to touch a post that is not the sender's.
    stolen = dict(edited, attributedTo=hostile.actor("mallory"))
    status, _ = await scene.post(hostile.activity("mallory", "Update", stolen))
    assert status in (202, 403)
    status, _ = await scene.post(hostile.activity("mallory", "Delete", note["id"]))
    assert status in (202, 403)
    assert await scene.post_body(note["id"]) == "by eve"
    assert without_seen(await scene.state()) == without_seen(before)

    # Eve herself may.
    await scene.accepted(hostile.activity("eve", "Update", edited), signer="eve")
    assert await scene.post_body(note["id"]) == "defaced"
    await scene.accepted(hostile.activity("eve", "Delete", note["id"]), signer="eve")
    assert await scene.post_body(note["id"]) is None


async def test_only_an_actor_may_delete_itself(scene: Scene) -> None:
    hostile = scene.hostile
    eve = hostile.actor("eve")
    await scene.accepted(scene.follow("eve"), signer="eve")
    note = hostile.note("eve", "by eve", [scene.alice_uri])
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    before = await scene.state()

    # Mallory, on eve's origin, says eve is gone; then says it in eve's name with her own key.
    status, data = await scene.post(hostile.activity("mallory", "Delete", eve))
    assert (status, _error(data)) == (403, "actor_mismatch")
    status, data = await scene.post(hostile.activity("eve", "Delete", eve), signer="mallory")
    assert (status, _error(data)) == (403, "actor_mismatch")
    assert await scene.state() == before
    assert await scene.followers() == [hostile.handle("eve")]
    assert await scene.post_body(note["id"]) == "by eve"

    # Eve herself may: her follow and her posts go with her.
    await scene.accepted(hostile.activity("eve", "Delete", eve), signer="eve")
    assert await scene.followers() == []
    assert await scene.post_body(note["id"]) is None


async def test_an_actor_deleting_itself_takes_its_follow_notifications(scene: Scene) -> None:
    pod, alice = scene.pod, scene.alice
    await scene.accepted(scene.follow("eve"), signer="eve")
    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"locked": True}, expect=200)
    await scene.accepted(scene.follow("mallory"))
    assert sorted(await notified(scene)) == ["follow", "follow.request"]

    # Both follows go with their actors, and so does what told alice of them.
    await scene.accepted(
        scene.hostile.activity("eve", "Delete", scene.hostile.actor("eve")), signer="eve"
    )
    await scene.accepted(
        scene.hostile.activity("mallory", "Delete", scene.hostile.actor("mallory"))
    )
    assert await notified(scene) == []
    _, count = await pod.call("GET", "/api/v1/notifications/badge", alice, expect=200)
    assert count == {"unread": 0}


async def test_an_update_that_drops_a_mention_takes_its_notification(scene: Scene) -> None:
    hostile = scene.hostile
    at_alice = [{"type": "Mention", "href": scene.alice_uri}]
    note = hostile.note("eve", "hi alice", [AS_PUBLIC], cc=[scene.alice_uri], tag=at_alice)
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    assert await notified(scene) == ["mention"]
    kept = dict(note, content="<p>hello alice</p>")
    await scene.accepted(hostile.activity("eve", "Update", kept), signer="eve")
    assert await notified(scene) == ["mention"]
    dropped = dict(note, content="<p>hello</p>", tag=[])
    await scene.accepted(hostile.activity("eve", "Update", dropped), signer="eve")
    assert await notified(scene) == []


async def test_an_actor_deleting_itself_takes_its_posts_in_a_few_statements(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    db = pod.app[DB]
    _, mine = await pod.call("POST", "/api/v1/posts", alice, json={"body": "by alice"}, expect=201)
    at_alice = [{"type": "Mention", "href": scene.alice_uri}]
    theirs = [hostile.note("mallory", f"n{i}", [scene.alice_uri], tag=at_alice) for i in range(30)]
    answer = {"cc": [scene.alice_uri], "inReplyTo": mine["uri"]}
    theirs.append(hostile.note("mallory", "reply", [AS_PUBLIC], **answer))
    for note in theirs:
        await scene.accepted(hostile.activity("mallory", "Create", note))
    eves = hostile.note("eve", "by eve", [scene.alice_uri], tag=at_alice)
    await scene.accepted(hostile.activity("eve", "Create", eves), signer="eve")
    liked = await db.fetchval("SELECT guid FROM posts WHERE ap_id = ?", (theirs[0]["id"],))
    await pod.call("POST", f"/api/v1/posts/{liked}/like", alice, expect=200)

    async def comments() -> int:
        _, view = await pod.call("GET", f"/api/v1/posts/{mine['id']}", alice, expect=200)
        return view["counts"]["comments"]

    assert await comments() == 1
    assert await db.fetchval("SELECT count(*) FROM notifications") == len(theirs) + 1
    # The like's delivery is done first: its writes (alice's signing key, made on first use,
    # its outcome) must not fall among the Delete's.
    await pod.app[FEDERATION].worker.run_once()
    assert await db.fetchval("SELECT count(*) FROM deliveries WHERE state != 'delivered'") == 0
    statements: list[str] = []
    db.writer.set_trace_callback(statements.append)
    try:
        await scene.accepted(hostile.activity("mallory", "Delete", hostile.actor("mallory")))
    finally:
        db.writer.set_trace_callback(None)
    # A trigger's steps are traced under the statement that fired them: count distinct ones
    # (a fixed few, where one per post would be over 30).
    assert len(set(statements)) < 24, statements

    for note in theirs:
        assert await scene.post_body(note["id"]) is None
    ids = [note["id"] for note in theirs]
    marks = f"SELECT count(*) FROM tombstones WHERE ap_id IN ({', '.join('?' * len(ids))})"
    assert await db.fetchval(marks, ids) == len(theirs)
    assert await scene.post_body(eves["id"]) == "by eve"
    assert await comments() == 0
    assert await notified(scene) == ["mention"]  # eve's
    orphans = "SELECT count(*) FROM main_feed WHERE post_guid NOT IN (SELECT guid FROM posts)"
    assert await db.fetchval(orphans) == 0
    assert await db.fetchval("SELECT count(*) FROM interactions") == 0
    # A late Create of one of them does not bring it back.
    await scene.accepted(hostile.activity("mallory", "Create", theirs[1]))
    assert await scene.post_body(theirs[1]["id"]) is None


# --- shares come from their owner -------------------------------------------------------------


async def incoming_shares(scene: Scene) -> list[tuple[str, str, bool, bool]]:
    """Alice's incoming shares: owner, granter, canWrite, canDelete."""
    _, items = await scene.pod.call("GET", "/api/v1/sharing/incoming", scene.alice, expect=200)
    return [
        (s["owner"]["handle"], s["grantedBy"]["handle"], s["canWrite"], s["canDelete"])
        for s in items
    ]


async def notified(scene: Scene) -> list[str]:
    _, items = await scene.pod.call("GET", "/api/v1/notifications", scene.alice, expect=200)
    return [n["kind"] for n in items]


async def test_shares_in_another_actors_name_are_refused(scene: Scene) -> None:
    hostile = scene.hostile
    eve, mallory = hostile.handle("eve"), hostile.actor("mallory")
    eves = hostile.share("eve", scene.alice_uri)
    await scene.accepted(hostile.share_activity("eve", "Create", eves), signer="eve")
    assert await incoming_shares(scene) == [(eve, eve, False, False)]
    before, told = await scene.state(), await notified(scene)

    # Same origin as eve, so only the actor check stands between mallory and eve's name.
    wider = dict(eves, canWrite=True, canDelete=True)
    refused = [
        ("Create", hostile.share("eve", scene.alice_uri)),  # a new share in eve's name
        ("Update", wider),  # eve's share, widened
        ("Update", dict(wider, attributedTo=mallory)),  # eve's share id, claimed as mallory's
        ("Create", dict(wider, attributedTo=mallory)),
        ("Delete", eves["id"]),
        ("Delete", {"id": eves["id"], "type": "Tombstone"}),
        ("Reject", eves["id"]),
    ]
    for kind, obj in refused:
        status, data = await scene.post(hostile.share_activity("mallory", kind, obj))
        assert (status, _error(data)) == (403, "actor_mismatch"), (kind, obj)
    assert await incoming_shares(scene) == [(eve, eve, False, False)]
    assert await notified(scene) == told
    assert await scene.state() == before

    # Eve herself may change and revoke it.
    await scene.accepted(hostile.share_activity("eve", "Update", wider), signer="eve")
    assert await incoming_shares(scene) == [(eve, eve, True, True)]
    await scene.accepted(hostile.share_activity("eve", "Delete", eves["id"]), signer="eve")
    assert await incoming_shares(scene) == []


async def test_our_share_is_declined_by_its_grantee_only(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    await pod.call("POST", "/api/v1/sharing", alice,
                   json={"shared_with": hostile.handle("mallory"), "scope": "all"},
                   expect=201)  # fmt: skip
    ap_id = await pod.app[DB].fetchval("SELECT ap_id FROM shares WHERE kind = 'grant'")

    async def outgoing() -> list[str]:
        _, items = await pod.call("GET", "/api/v1/sharing/outgoing", alice, expect=200)
        return [s["sharedWith"]["handle"] for s in items]

    assert await outgoing() == [hostile.handle("mallory")]
    before = await scene.state()
    for kind in ("Reject", "Delete"):
        status, data = await scene.post(hostile.share_activity("eve", kind, ap_id), signer="eve")
        assert (status, _error(data)) == (403, "actor_mismatch"), kind
    assert await outgoing() == [hostile.handle("mallory")]
    assert await scene.state() == before

    await scene.accepted(hostile.share_activity("mallory", "Reject", ap_id))
    assert await outgoing() == []
    assert "share.declined" in await notified(scene)


async def test_share_edits_and_deletes_of_our_posts_apply_once(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    await scene.accepted(scene.follow())  # mallory follows alice: an edit is sent back to her
    _, mine = await pod.call("POST", "/api/v1/posts", alice, json={"body": "by alice"}, expect=201)
    await pod.call("POST", "/api/v1/sharing", alice,
                   json={"shared_with": hostile.handle("mallory"), "scope": "all",
                         "can_write": True, "can_delete": True},
                   expect=201)  # fmt: skip
    note = {"id": mine["uri"], "type": "Note", "attributedTo": scene.alice_uri}

    # Eve holds no share: refused, and not even marked as seen.
    before = await scene.state()
    eves = hostile.activity("eve", "Update", dict(note, content="<p>by eve</p>"))
    status, data = await scene.post(eves, signer="eve")
    assert (status, _error(data)) == (403, "forbidden")
    assert await scene.state() == before

    update = hostile.activity("mallory", "Update", dict(note, content="<p>by mallory</p>"))
    await scene.accepted(update)
    assert await scene.post_body(mine["uri"]) == "by mallory"
    await pod.call("PATCH", f"/api/v1/posts/{mine['id']}", alice, json={"body": "alice again"},
                   expect=200)  # fmt: skip
    before = await scene.state()
    await scene.accepted(update)  # re-sent: neither applied again nor sent on to followers
    assert await scene.post_body(mine["uri"]) == "alice again"
    assert await scene.state() == before

    delete = hostile.activity("mallory", "Delete", mine["uri"])
    await scene.accepted(delete)
    assert await scene.post_body(mine["uri"]) is None
    before = await scene.state()
    await scene.accepted(delete)
    assert await scene.state() == before


# --- replays ----------------------------------------------------------------------------------


async def test_replayed_requests_have_no_second_effect(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    async def likes() -> int:
        _, view = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        return view["counts"]["likes"]

    like = hostile.activity("mallory", "Like", post["uri"])
    body = json.dumps(like).encode()
    headers = hostile.signed(scene.inbox, body, scene.now(), signer="mallory")
    assert (await hostile.send(scene.inbox, body, headers))[0] == 202
    assert await likes() == 1
    assert (await hostile.send(scene.inbox, body, headers))[0] == 202
    assert await likes() == 1

    await scene.accepted(hostile.activity("mallory", "Undo", like))
    assert await likes() == 0
    before = await scene.state()
    # The very same signed request again, and the Like re-signed as new: neither brings it back.
    assert (await hostile.send(scene.inbox, body, headers))[0] == 202
    assert (await scene.post(like))[0] == 202
    assert await likes() == 0
    assert await scene.state() == before

    follow = scene.follow()
    await scene.accepted(follow)
    assert await scene.followers() == [hostile.handle("mallory")]
    await scene.accepted(hostile.activity("mallory", "Undo", follow))
    assert await scene.followers() == []
    assert (await scene.post(follow, url=scene.alice_inbox))[0] == 202
    assert await scene.followers() == []


# --- what the pod fetches, and from where -----------------------------------------------------


async def test_private_addresses_are_not_fetched_without_the_allowlist(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod(federation={"allow_private_addresses": False})
    scene = Scene(pod, await pod.register("alice"), hostile)
    before = await scene.state()
    port = hostile.server.port

    status, data = await scene.post(scene.follow())
    assert (status, _error(data)) == (401, "signature_key_unknown")
    # Other spellings of the loopback address: a name, short and decimal forms, IPv4-mapped.
    for host in ("localhost", "127.1", "2130706433", "[::ffff:127.0.0.1]"):
        key_id = f"http://{host}:{port}/users/mallory#main-key"
        status, data = await scene.post(scene.follow(), key_id=key_id)
        assert (status, _error(data)) == (401, "signature_key_unknown"), host

    for handle in (hostile.handle("mallory"), f"mallory@localhost:{port}"):
        resp, _ = await pod.call("GET", f"/api/v1/lookup?acct={handle}", scene.alice)
        assert resp.status == 404, handle
        resp, _ = await pod.call("POST", "/api/v1/follows", scene.alice, json={"target": handle})
        assert resp.status == 404, handle

    assert hostile.requests == []
    assert await scene.state() == before


async def test_known_actor_cannot_point_the_pod_at_private_addresses(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """Actors learnt while private addresses were allowed; then the pod restarts without."""
    pod = await make_pod()
    scene = Scene(pod, await pod.register("alice"), hostile)
    await scene.accepted(scene.follow())  # mallory follows alice
    await pod.call(
        "POST", "/api/v1/follows", scene.alice, json={"target": hostile.handle("mallory")},
        expect=201,
    )  # fmt: skip

    async def sent(kind: str) -> list[dict[str, Any]]:
        docs = [json.loads(body) for _, body in hostile.received]
        return [d for d in docs if d["type"] == kind]

    follow = (await wait_for(lambda: sent("Follow")))[0]
    await scene.accepted(hostile.activity("mallory", "Accept", follow))
    _, following = await pod.call(
        "GET", "/api/v1/identities/current/following", scene.alice, expect=200
    )
    assert [f["state"] for f in following] == ["accepted"]
    await wait_for(lambda: sent("Accept"))
    await pod.stop()

    pod = await make_pod(
        data_dir=pod.config.storage.data_dir,
        port=pod.server.port,
        clock=ManualClock(),
        federation={"allow_private_addresses": False},
    )
    _, login = await pod.login("alice", expect=201)
    scene = Scene(pod, User("alice", login["token"], "", "", "correct horse battery"), hostile)
    hostile.requests.clear()
    hostile.received.clear()
    before = await scene.state()

    # The key is known, so this verifies without a fetch; but the announced object is on a
    # private address and is not fetched.
    announce = hostile.activity("mallory", "Announce", f"{hostile.actor('mallory')}/notes/1")
    status, data = await scene.post(announce)
    assert status == 422, data
    # Nor when the address is spelt in full-width digits or with ideographic full stops, which
    # the HTTP client maps to 127.0.0.1 (IDNA) and then connects to without resolving.
    for host in ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127\u30020\u30020\u30021"):
        target = f"http://{host}:{hostile.server.port}/users/mallory/notes/1"
        status, data = await scene.post(hostile.activity("mallory", "Announce", target))
        assert status == 422, (host, data)
    assert hostile.requests == []
    assert await scene.state() == before

    # Nor is anything delivered there: alice's post to her followers (mallory) stays queued.
    await pod.call("POST", "/api/v1/posts", scene.alice, json={"body": "hi"}, expect=201)

    async def attempted() -> Any:
        return await pod.app[DB].fetchval(
            "SELECT last_error FROM deliveries WHERE host = ? AND state = 'pending'"
            " AND attempts > 0",
            (hostile.host,),
        )

    assert await wait_for(attempted)
    assert hostile.requests == []


async def test_signatures_cover_the_target_as_sent(scene: Scene) -> None:
    """The pod signs the path and query its HTTP client really sends (which unescapes `:`, `@`
    and letters, and escapes what must be): a WebFinger query with escaped `:` and `@`, an inbox
    URL with an escaped letter; each verified on arrival, with the pod's key, by an independent
    implementation."""
    pod, hostile = scene.pod, scene.hostile
    hostile.overrides["mallory"]["inbox"] = f"{hostile.actor('mallory')}/in%62ox"
    await pod.call(
        "POST", "/api/v1/follows", scene.alice, json={"target": hostile.handle("mallory")},
        expect=201,
    )  # fmt: skip
    await wait_for(lambda: _ready(hostile.received))

    checked = []
    for method, target, headers in hostile.raw:
        if method == "GET" and not target.startswith("/.well-known/webfinger"):
            continue
        params = dict(p.split("=", 1) for p in headers["Signature"].split(","))
        owner = params["keyId"].strip('"').split("#")[0]
        _, doc = await pod.call("GET", urlsplit(owner).path)
        verifier = ref_httpsig.HeaderVerifier(
            headers=headers, secret=doc["publicKey"]["publicKeyPem"].encode(),
            method=method, path=target, sign_header="signature",
        )  # fmt: skip
        checked.append((method, target.split("?")[0], verifier.verify()))
    assert checked == [
        ("GET", "/.well-known/webfinger", True), ("POST", "/users/mallory/inbox", True)
    ]  # fmt: skip


async def _ready(items: list[Any]) -> bool:
    return bool(items)


async def test_redirect_to_another_origin_is_refused(scene: Scene, other: HostilePod) -> None:
    hostile = scene.hostile
    # The same actor document (same key) is served by the other origin.
    hostile.redirects["/users/mallory"] = other.actor("mallory")
    before = await scene.state()
    status, data = await scene.post(scene.follow())
    assert (status, _error(data)) == (401, "signature_key_unknown")
    assert hostile.fetches("/users/mallory") >= 1
    assert other.requests == []

    resp, _ = await scene.pod.call(
        "GET", f"/api/v1/lookup?acct={hostile.handle('mallory')}", scene.alice
    )
    assert resp.status == 404
    assert other.requests == []
    assert await scene.state() == before

    # A redirect that stays on the origin is followed.
    hostile.redirects.clear()
    hostile.redirects["/users/eve"] = hostile.actor("mallory")
    resp, found = await scene.pod.call(
        "GET", f"/api/v1/lookup?acct={hostile.handle('eve')}", scene.alice
    )
    assert resp.status == 200, found
    assert found["handle"] == hostile.handle("mallory")


async def test_actor_document_from_another_origin_is_refused(
    scene: Scene, other: HostilePod, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    liar = other.actor("liar")
    # Served here, claiming to be the actor over there (key and all).
    hostile.add_actor(
        "liar",
        keys[0],
        id=liar,
        inbox=f"{liar}/inbox",
        publicKey={"id": f"{liar}#main-key", "owner": liar, "publicKeyPem": public_pem(keys[0])},
    )
    # Its own id, but a key that another origin's actor owns.
    hostile.add_actor(
        "keyless",
        keys[0],
        publicKey={"id": other.key_id("mallory"), "owner": other.actor("mallory"),
                   "publicKeyPem": public_pem(keys[0])},
    )  # fmt: skip
    before = await scene.state()
    for name in ("liar", "keyless"):
        status, data = await scene.post(scene.follow(name), signer=name)
        assert (status, _error(data)) == (401, "signature_key_unknown"), name
        resp, _ = await scene.pod.call(
            "GET", f"/api/v1/lookup?acct={hostile.handle(name)}", scene.alice
        )
        assert resp.status == 404, name
    assert await scene.state() == before
    assert await scene.followers() == []


async def test_a_key_document_apart_from_its_actor_is_followed_to_the_actor(scene: Scene) -> None:
    """GoToSocial's key ids are `{actor}/main-key`, serving a stub of the actor (no inbox);
    other servers serve the key itself there, naming its `owner`. Either way the pod reads the
    actor at its own URL and hears it from the first activity on."""
    hostile = scene.hostile
    for name, stub in (("gts", True), ("keydoc", False)):
        actor = hostile.add_actor(name, hostile.keys["mallory"])
        key_id = f"{actor}/main-key"
        key = {"id": key_id, "owner": actor, "publicKeyPem": public_pem(hostile.keys[name])}
        hostile.overrides[name]["publicKey"] = key
        hostile.documents[f"/users/{name}/main-key"] = (
            {"@context": AS_CONTEXT, "id": actor, "type": "Person",
             "preferredUsername": name, "publicKey": key}
            if stub else {"@context": AS_CONTEXT, "type": "CryptographicKey", **key}
        )  # fmt: skip
        status, data = await scene.post(scene.follow(name), signer=name, key_id=key_id)
        assert status == 202, (name, data)
        assert hostile.fetches(f"/users/{name}") == 1, name
    assert sorted(await scene.followers()) == [hostile.handle("gts"), hostile.handle("keydoc")]
    inboxes = await scene.pod.app[DB].fetchall("SELECT inbox FROM remote_actors ORDER BY uri")
    assert [row[0] for row in inboxes] == [
        f"{hostile.actor('gts')}/inbox",
        f"{hostile.actor('keydoc')}/inbox",
    ]


async def test_an_actor_document_elsewhere_on_its_origin_speaks_not_for_it(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A document at some other URL of mallory's origin (a file a user put there) claiming to be
    mallory, with another key: the pod asks mallory's own URL, whose key is not that one. The
    stored actor keeps its key, and nothing is taken in mallory's name."""
    hostile = scene.hostile
    await scene.accepted(scene.follow())
    mallory = hostile.actor("mallory")
    forged_key = f"{hostile.base}/files/upload.json#main-key"
    forged = dict(hostile.actor_doc("mallory"))
    forged["publicKey"] = {"id": forged_key, "owner": mallory, "publicKeyPem": public_pem(keys[1])}
    hostile.documents["/files/upload.json"] = forged
    await scene.accepted(hostile.activity("mallory", "Undo", scene.follow()))
    before = await scene.state()

    follow = scene.follow()
    status, data = await scene.post(follow, key=keys[1], key_id=forged_key)
    assert (status, _error(data)) == (401, "signature_key_unknown")
    assert await scene.state() == before
    row = await scene.pod.app[DB].fetchone(
        "SELECT key_id FROM remote_actors WHERE uri = ?", (mallory,)
    )
    assert row[0] == hostile.key_id("mallory")
    await scene.accepted(follow)  # mallory herself, with her own key


@pytest.mark.parametrize("padded", [False, True])
async def test_an_actor_elsewhere_on_the_origin_does_not_take_a_known_handle(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey], padded: bool
) -> None:
    """A document at some other URL of mallory's origin (a file a user put there), naming
    itself as its id and `mallory` as its username, with another key: it is not mallory,
    whose handle WebFinger still gives to her own actor. Taking the handle would have put
    its posts under mallory's name, and dropped hers (her follow of alice went with it).

    Also when its id spells the origin another way (`padded`: the port with a leading zero;
    so would `:443` on an https origin): the same server has the same handles. Read as
    another host, it was stored as `mallory@` a look-alike of hers, unasked."""
    hostile = scene.hostile
    await scene.accepted(scene.follow())
    mallory = hostile.actor("mallory")
    origin = f"http://127.0.0.1:0{hostile.server.port}" if padded else hostile.base
    upload = f"{origin}/files/upload.json"
    impostor = dict(hostile.actor_doc("mallory"), id=upload, inbox=f"{upload}/inbox")
    impostor["publicKey"] = {
        "id": f"{upload}#main-key", "owner": upload, "publicKeyPem": public_pem(keys[1])
    }  # fmt: skip
    hostile.documents["/files/upload.json"] = impostor
    before = await scene.state()

    follow = dict(scene.follow(), actor=upload, id=f"{upload}/follow/1")
    status, data = await scene.post(follow, key=keys[1], key_id=f"{upload}#main-key")
    assert (status, _error(data)) == (401, "signature_key_unknown")
    assert await scene.state() == before
    assert await scene.followers() == [hostile.handle("mallory")]
    row = await scene.pod.app[DB].fetchone(
        "SELECT r.uri FROM identities i JOIN remote_actors r ON r.identity_guid = i.guid"
        " WHERE i.username = 'mallory'"
    )
    assert row[0] == mallory

    # Once WebFinger gives the handle to the new actor, the handle has moved: it is hers.
    hostile.links["mallory"] = upload
    scene.pass_refetch_interval()  # the key id failed to fetch: it is not fetched again soon
    status, data = await scene.post(
        dict(follow, id=f"{upload}/follow/2"), key=keys[1], key_id=f"{upload}#main-key"
    )
    assert status == 202, data
    row = await scene.pod.app[DB].fetchone(
        "SELECT r.uri FROM identities i JOIN remote_actors r ON r.identity_guid = i.guid"
        " WHERE i.username = 'mallory'"
    )
    assert row[0] == upload


async def test_a_handle_nobody_had_is_not_given_by_a_file_claiming_it(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A file on the hostile origin names itself `bob`, a handle no actor we know has yet, and
    signs a follow of alice with its own key: it is stored as the document says. A lookup of
    bob's handle still asks WebFinger, which gives bob's own actor; and while WebFinger gives
    nobody for it, the lookup finds nobody. A handle WebFinger gave is answered from what is
    stored, until the profile is due for a refresh."""
    hostile = scene.hostile
    upload = f"{hostile.base}/files/upload.json"
    hostile.documents["/files/upload.json"] = {
        "@context": AS_CONTEXT, "id": upload, "type": "Person", "preferredUsername": "bob",
        "inbox": f"{upload}/inbox",
        "publicKey": {"id": f"{upload}#main-key", "owner": upload,
                      "publicKeyPem": public_pem(keys[1])},
    }  # fmt: skip
    follow = dict(scene.follow(), actor=upload, id=f"{upload}/follow/1")
    status, data = await scene.post(follow, key=keys[1], key_id=f"{upload}#main-key")
    assert status == 202, data
    assert await scene.followers() == [hostile.handle("bob")]  # as it names itself

    async def lookup() -> tuple[int, dict[str, Any]]:
        resp, body = await scene.pod.call(
            "GET", f"/api/v1/lookup?acct={hostile.handle('bob')}", scene.alice
        )
        return resp.status, body

    status, _ = await lookup()
    assert status == 404  # WebFinger knows no bob
    hostile.add_actor("bob", keys[0])
    status, found = await lookup()
    assert status == 200, found
    assert found["url"] == hostile.actor("bob")
    asked = hostile.requests.count(
        f"GET /.well-known/webfinger?resource=acct:{hostile.handle('bob')}"
    )
    status, again = await lookup()
    assert (status, again["url"]) == (200, hostile.actor("bob"))
    assert (
        hostile.requests.count(f"GET /.well-known/webfinger?resource=acct:{hostile.handle('bob')}")
        == asked
    )  # checked once: answered from what is stored


async def test_an_unreadable_public_key_is_a_failed_signature(scene: Scene) -> None:
    """A key whose PEM does not load (junk, or a kind we do not verify with) refuses the
    signature (401) instead of failing the request (500, which senders retry)."""
    hostile = scene.hostile
    junk = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"
    hostile.overrides["mallory"]["publicKey"] = {
        "id": hostile.key_id("mallory"), "owner": hostile.actor("mallory"), "publicKeyPem": junk
    }  # fmt: skip
    before = await scene.state()
    status, data = await scene.post(scene.follow())
    assert (status, _error(data)) == (401, "signature_invalid")
    # A signed GET with it is anyone's (see test_a_signed_get_that_cannot_be_verified_is_anyones).
    path = f"/posts/{'a' * 32}"
    status, data = await _signed_get(scene, path, "mallory", hostile.keys["mallory"])
    assert (status, _error(data)) == (404, "not_found")
    assert await scene.state() == before


def _costly_key(key: RSAPrivateKey) -> RSAPrivateKey:
    """`key`'s primes with a public exponent as long as the modulus: a valid RSA key whose every
    verification costs about as much as signing (some milliseconds instead of microseconds)."""
    private = key.private_numbers()
    p, q = private.p, private.q
    phi = (p - 1) * (q - 1)
    e = (1 << (phi.bit_length() - 2)) | 1
    while math.gcd(e, phi) != 1:
        e += 2
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    ).private_key()


async def test_a_key_costly_to_verify_with_is_refused(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """Every signature naming a key is checked with it, junk ones too: a key with a huge public
    exponent would make each request naming it cost milliseconds of the event loop. Such keys
    (no server makes them) verify nothing."""
    hostile = scene.hostile
    hostile.add_actor("costly", _costly_key(keys[0]))
    before = await scene.state()
    status, data = await scene.post(scene.follow("costly"), signer="costly")
    assert (status, _error(data)) == (401, "signature_invalid")
    assert await scene.state() == before
    await scene.accepted(scene.follow())


async def test_key_rotation_refetches_once(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    follow = scene.follow()
    await scene.accepted(follow)
    assert hostile.fetches("/users/mallory") == 1

    hostile.keys["mallory"] = keys[1]  # rotated: same key id, new key
    await scene.accepted(hostile.activity("mallory", "Undo", follow))
    assert hostile.fetches("/users/mallory") == 2
    assert await scene.followers() == []

    # The old key no longer works: refused without a fetch while the key was fetched again
    # lately, and still refused after looking again (once) when that was longer ago.
    before = await scene.state()
    status, data = await scene.post(scene.follow(), key=keys[0])
    assert (status, _error(data)) == (401, "signature_invalid")
    assert hostile.fetches("/users/mallory") == 2
    scene.pass_refetch_interval()
    status, data = await scene.post(scene.follow(), key=keys[0])
    assert (status, _error(data)) == (401, "signature_invalid")
    assert hostile.fetches("/users/mallory") == 3
    assert await scene.state() == before

    # The new key is now the known one: no further fetch.
    await scene.accepted(scene.follow())
    assert hostile.fetches("/users/mallory") == 3
    assert await scene.followers() == [hostile.handle("mallory")]


async def test_a_made_up_key_id_is_fetched_once_per_interval(
    scene: Scene, other: HostilePod
) -> None:
    """Unknown key ids are fetched where they point; one that failed is not fetched again for a
    while. Other ids on that host still are: naming a host's ids cannot shut it out."""
    before = await scene.state()
    ghost = f"{other.actor('ghost')}#main-key"
    for _ in range(20):
        status, data = await scene.post(scene.follow(), key_id=ghost)
        assert (status, _error(data)) == (401, "signature_key_unknown")
    assert other.fetches("/users/ghost") == 1
    assert await scene.state() == before
    # eve on that host, never seen before, signs her first Follow: fetched and accepted.
    follow = other.activity("eve", "Follow", scene.alice_uri)
    status, data = await other.post(scene.inbox, follow, scene.now(), signer="eve")
    assert status == 202, data
    assert other.fetches("/users/eve") == 1
    scene.pass_refetch_interval()
    await scene.post(scene.follow(), key_id=ghost)
    assert other.fetches("/users/ghost") == 2


async def _signed_get(scene: Scene, path: str, signer: str, key: RSAPrivateKey) -> tuple[int, Any]:
    url = f"{scene.pod.url}{path}"
    headers = sign_cavage(
        "GET", url, None, scene.hostile.key_id(signer), key, scene.now(),
        covered=("(request-target)", "host", "date"),
    )  # fmt: skip
    async with scene.pod.http.get(url, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_failed_signatures_refetch_a_key_once_per_interval(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    await scene.accepted(scene.follow())
    assert hostile.fetches("/users/mallory") == 1
    before = await scene.state()

    # Junk signatures naming mallory's key, posted and on signed GETs: one refetch in all.
    for _ in range(20):
        status, data = await scene.post(scene.follow(), key=keys[1])
        assert (status, _error(data)) == (401, "signature_invalid")
    for _ in range(5):  # each answered as anyone's: that post is not there
        status, data = await _signed_get(scene, f"/posts/{'a' * 32}", "mallory", keys[1])
        assert (status, _error(data)) == (404, "not_found")
    assert hostile.fetches("/users/mallory") == 2
    assert await scene.state() == before

    # Once the interval has passed, a failure may look again, once.
    scene.pass_refetch_interval()
    for _ in range(3):
        status, data = await _signed_get(scene, f"/posts/{'a' * 32}", "mallory", keys[1])
        assert (status, _error(data)) == (404, "not_found")
    assert hostile.fetches("/users/mallory") == 3

    # The real key still works, from the record: no fetch.
    await scene.accepted(scene.follow())
    assert hostile.fetches("/users/mallory") == 3


async def test_failed_signatures_refetch_few_keys_of_one_host(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    names = [f"m{n}" for n in range(HOST_REFETCHES + 5)]
    for name in names:
        hostile.add_actor(name, keys[0])
        await scene.accepted(scene.follow(name), signer=name)

    def fetched() -> int:
        return sum(hostile.fetches(f"/users/{name}") for name in names)

    assert fetched() == len(names)
    for name in names:
        status, data = await scene.post(scene.follow(name), signer=name, key=keys[1])
        assert (status, _error(data)) == (401, "signature_invalid")
    assert fetched() == len(names) + HOST_REFETCHES


@pytest.mark.parametrize("entry", ["127.0.0.1", "{host}", "127.0.0.1:1"])
async def test_blocked_domain(make_pod: PodFactory, hostile: HostilePod, entry: str) -> None:
    pod = await make_pod(federation={"blocked_domains": [entry.format(host=hostile.host)]})
    scene = Scene(pod, await pod.register("alice"), hostile)
    before = await scene.state()
    status, data = await scene.post(scene.follow())
    if entry == "127.0.0.1:1":  # another port is another domain: not blocked
        assert status == 202, data
        assert await scene.followers() == [hostile.handle("mallory")]
        return
    assert (status, _error(data)) == (403, "domain_blocked")
    assert hostile.requests == []
    assert await scene.state() == before
    assert await scene.followers() == []


async def _followed_and_posted_for_followers(scene: Scene) -> str:
    """mallory follows alice, who then posts for her followers; the post's id."""
    await scene.accepted(scene.follow())
    _, post = await scene.pod.call(
        "POST", "/api/v1/posts", scene.alice,
        json={"body": "for followers", "visibility": "followers"}, expect=201,
    )  # fmt: skip
    return post["uri"]


async def test_a_signed_get_that_cannot_be_verified_is_anyones(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A signed GET whose signature cannot be verified (wrong key, a key that cannot be
    fetched, an expired or malformed signature, one of our own keys) is answered as an
    unsigned one: the public post is served (as Mastodon serves it), and what only followers
    may read stays 404, so the failed signature gains nothing."""
    hostile = scene.hostile
    followers_only = await _followed_and_posted_for_followers(scene)
    _, post = await scene.pod.call(
        "POST", "/api/v1/posts", scene.alice, json={"body": "for all"}, expect=201
    )
    public = post["uri"]
    mallory = hostile.key_id("mallory")
    unverifiable = {
        "wrong key": (mallory, keys[1], scene.now()),
        "unknown key": (f"{hostile.base}/users/nobody#main-key", keys[0], scene.now()),
        "our own key": (f"{scene.pod.url}/users/alice#main-key", keys[0], scene.now()),
        "expired": (mallory, keys[0], scene.now() - timedelta(days=1)),
    }
    for name, (key_id, key, at) in unverifiable.items():
        for url, expected in ((public, 200), (followers_only, 404)):
            headers = sign_cavage(
                "GET", url, None, key_id, key, at, covered=("(request-target)", "host", "date")
            )
            async with scene.pod.http.get(url, headers=headers) as resp:
                assert resp.status == expected, (name, url, await resp.text())
    malformed = {"Signature": 'keyId="x",signature="%%%"', "Date": "yesterday"}
    for url, expected in ((public, 200), (followers_only, 404)):
        async with scene.pod.http.get(url, headers=malformed) as resp:
            assert resp.status == expected, (url, await resp.text())
    # Verified, the follower reads what is hers.
    assert (await _signed_get(scene, urlsplit(followers_only).path, "mallory", keys[0]))[0] == 200


async def test_a_blocked_domain_reads_nothing_with_signed_gets(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A follower on a domain blocked later (its follows and keys stay on record) gets nothing
    more: signed GETs are refused as its inbox posts are."""
    pod = scene.pod
    path = urlsplit(await _followed_and_posted_for_followers(scene)).path
    status, note = await _signed_get(scene, path, "mallory", keys[0])
    assert status == 200, note
    assert "for followers" in note["content"]

    pod.app[FEDERATION].blocks.load({scene.hostile.host})  # as `hearth domain block` stores it
    for where in (path, f"{path}/activity"):
        status, data = await _signed_get(scene, where, "mallory", keys[0])
        assert (status, _error(data)) == (403, "domain_blocked"), where
    assert (await scene.post(scene.follow()))[0] == 403


async def test_a_get_signed_in_the_authorization_header_is_a_signed_get(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """draft-cavage also lets a signature travel as `Authorization: Signature ...`, as the inbox
    accepts it: a follower signing its GET so reads a followers-only post."""
    pod = scene.pod
    url = await _followed_and_posted_for_followers(scene)
    headers = sign_cavage(
        "GET", url, None, scene.hostile.key_id("mallory"), keys[0], scene.now(),
        covered=("(request-target)", "host", "date"),
    )  # fmt: skip
    headers["authorization"] = "Signature " + headers.pop("signature")
    async with pod.http.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        assert "for followers" in (await resp.json(content_type=None))["content"]


ODD_AUTHORITIES = ["x@{host}", "x:y@{host}", "127.0.0.1.:{port}"]


def _odd_follow(scene: Scene, authority: str) -> tuple[dict[str, Any], str]:
    """mallory's Follow of alice with her actor id (served as such) and key id on the
    hostile pod's host spelt with user info or a trailing dot; and that key id."""
    hostile = scene.hostile
    authority = authority.format(host=hostile.host, port=hostile.server.port)
    actor = hostile.actor("mallory").replace(hostile.host, authority)
    hostile.overrides["mallory"] = {"id": actor}
    return dict(scene.follow(), actor=actor, id=f"{actor}/activity/1"), f"{actor}#main-key"


@pytest.mark.parametrize("authority", ODD_AUTHORITIES)
async def test_blocked_domain_spelt_otherwise_is_blocked(
    make_pod: PodFactory, hostile: HostilePod, authority: str
) -> None:
    pod = await make_pod(federation={"blocked_domains": [hostile.host]})
    scene = Scene(pod, await pod.register("alice"), hostile)
    before = await scene.state()
    follow, key_id = _odd_follow(scene, authority)
    status, data = await scene.post(follow, key_id=key_id)
    assert (status, _error(data)) == (403, "domain_blocked")
    assert hostile.requests == []
    assert await scene.state() == before


async def test_a_block_from_the_command_line_applies_to_the_running_pod(
    tmp_path: Path, make_pod: PodFactory, hostile: HostilePod
) -> None:
    """`hearth domain block` and `unblock`, run while the pod serves, apply without a restart."""
    path = str(write_config(tmp_path / "pod"))
    pod = await make_pod(
        data_dir=tmp_path / "pod" / "data", federation={"blocks_reload_seconds": 0.05}
    )
    scene = Scene(pod, await pod.register("alice"), hostile)
    await scene.accepted(scene.follow())
    assert await run(["domain", "block", "--config", path, hostile.host]) == 0

    async def answer() -> tuple[int, str | None]:
        status, data = await scene.post(scene.follow())
        return status, _error(data)

    await wait_for(lambda: _is(answer(), (403, "domain_blocked")), timeout=5)
    before = await scene.state()
    assert await answer() == (403, "domain_blocked")
    assert await scene.state() == before
    assert await run(["domain", "unblock", "--config", path, hostile.host]) == 0
    await wait_for(lambda: _is(answer(), (202, None)), timeout=5)


async def _is(answer: Awaitable[Any], expected: Any) -> bool:
    return await answer == expected


@pytest.mark.parametrize("authority", ODD_AUTHORITIES)
async def test_actor_ids_with_user_info_or_a_trailing_dot_are_refused(
    scene: Scene, authority: str
) -> None:
    before = await scene.state()
    follow, key_id = _odd_follow(scene, authority)
    status, data = await scene.post(follow, key_id=key_id)
    assert (status, _error(data)) == (401, "signature_key_unknown")
    assert scene.hostile.requests == []
    assert await scene.state() == before
    del scene.hostile.overrides["mallory"]
    await scene.accepted(scene.follow())


# URLs Python's parser refuses (brackets around no IPv6 address), wherever a URL is read.
UNPARSEABLE = ["http://[::1/users/x", "http://[zz]/users/x", "http://zz]/users/x"]


async def test_urls_that_cannot_be_parsed_are_refused_not_crashed_on(scene: Scene) -> None:
    """As a key id, an addressee, a mention, an object, a WebFinger self link or a redirect's
    Location: each is a URL of no origin, refused or ignored (never a 500, which senders retry
    for days)."""
    hostile = scene.hostile
    await _alice_follows_mallory(scene)  # so that what mallory reshares is fetched
    for i, bad in enumerate(UNPARSEABLE):
        status, data = await scene.post(scene.follow(), key_id=f"{bad}#main-key")
        assert (status, _error(data)) == (401, "signature_key_unknown"), bad
        note = hostile.note(
            "mallory", f"to {i}", [scene.alice_uri, bad], cc=[bad],
            tag=[{"type": "Mention", "href": bad}],
        )  # fmt: skip
        await scene.accepted(hostile.activity("mallory", "Create", note))
        assert await scene.post_body(note["id"]) == f"to {i}", bad
        await scene.accepted(hostile.activity("mallory", "Follow", bad))
        status, data = await scene.post(hostile.activity("mallory", "Announce", bad))
        assert (status, _error(data)) == (422, "unfetchable_object"), bad

        name = f"stranger{i}"
        hostile.add_actor(name, hostile.keys["mallory"])
        hostile.links[name] = bad
        moved = f"moved{i}"
        hostile.add_actor(moved, hostile.keys["mallory"])
        hostile.redirects[f"/users/{moved}"] = bad
        for who in (name, moved):
            resp, data = await scene.pod.call(
                "GET", f"/api/v1/lookup?acct={hostile.handle(who)}", scene.alice
            )
            assert resp.status == 404, (bad, who, resp.status, data)
        hostile.redirects["/.well-known/webfinger"] = bad
        resp, data = await scene.pod.call(
            "GET", f"/api/v1/lookup?acct={hostile.handle(f'unknown{i}')}", scene.alice
        )
        assert resp.status == 404, (bad, resp.status, data)
        del hostile.redirects["/.well-known/webfinger"]


# --- documents that would crash a careless parser -------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [{"type": "Note", "content": value}]
    return value


async def test_malformed_bodies_are_refused_not_crashed_on(scene: Scene) -> None:
    hostile = scene.hostile
    follow = scene.follow()
    deep = json.dumps(follow)[:-1] + ', "content": ' + "[" * 100_000 + "]" * 100_000 + "}"
    alias = [*AS_CONTEXT, {"by": {"@id": "as:actor", "@type": "@id"}}]
    bodies = {
        "nested past the parser's limit": deep.encode(),
        "nested past the JSON-LD processor's": json.dumps(
            dict(follow, **{"@context": alias}, attachment=_nested(300))
        ).encode(),
        "a 5000-digit number": json.dumps(follow)[:-1].encode() + b', "n": ' + b"7" * 5000 + b"}",
        "not UTF-8": json.dumps(follow).encode().replace(b"Follow", b"F\xffollow"),
        "not JSON": b"{'type': 'Follow'}",
        "not an object": json.dumps([follow]).encode(),
        # JSON-LD that pyld fails on with errors of its own kind (TypeError), not JsonLdError.
        "a null @type": json.dumps(dict(follow, **{"@context": alias, "@type": None})).encode(),
        "a term whose @id is an object": json.dumps(
            dict(follow, **{"@context": [*alias, {"odd": {"@id": {}}}]})
        ).encode(),
    }
    before = await scene.state()
    for what, body in bodies.items():
        headers = hostile.signed(scene.inbox, body, scene.now(), signer="mallory")
        status, data = await hostile.send(scene.inbox, body, headers)
        assert status == 400, (what, status, data)
    assert await scene.state() == before
    await scene.accepted(follow)


async def test_out_of_range_dates_in_a_note_are_not_a_crash(scene: Scene) -> None:
    hostile = scene.hostile
    for published in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "yesterday"):
        note = hostile.note("mallory", published, [scene.alice_uri], published=published)
        await scene.accepted(hostile.activity("mallory", "Create", note))
        assert await scene.post_body(note["id"]) == published


async def test_content_warnings_are_read_as_plain_text(scene: Scene) -> None:
    hostile = scene.hostile
    mastodon = [*AS_CONTEXT, {"toot": "http://joinmastodon.org/ns#", "sensitive": "as:sensitive"}]

    async def warning_of(note: dict[str, Any], kind: str = "Create") -> tuple[str, bool]:
        activity = {**hostile.activity("mallory", kind, note), "@context": mastodon}
        await scene.accepted(activity)
        post = await scene.post_json(note["id"])
        assert post is not None
        return post["contentWarning"], post["sensitive"]

    # As Mastodon sends a warning: HTML in `summary`, and `sensitive`.
    note = hostile.note("mallory", "the twist", [scene.alice_uri])
    note |= {"summary": "<p>spoilers</p>", "sensitive": True}
    assert await warning_of(note) == ("spoilers", True)
    # An Update carries them again: markup and scripts are dropped, the text is capped.
    note |= {"summary": "<script>alert(1)</script><b>bold</b> &amp; " + "y" * 600}
    assert await warning_of(note, "Update") == (("bold & " + "y" * 600)[:500], True)
    # `sensitive` counts only as a boolean; a `summary` that is not text is none.
    note |= {"summary": {"en": "<p>spoilers</p>"}, "sensitive": "true"}
    assert await warning_of(note, "Update") == ("", False)
    flagged = hostile.note("mallory", "a picture", [scene.alice_uri], sensitive=True)
    assert await warning_of(flagged) == ("", True)
    # A warning of nothing a reader can see is none: no blank hides the post.
    blank = hostile.note(
        "mallory", "plain", [scene.alice_uri], summary="<p>\u200b&#8203;\ufeff</p>"
    )
    assert await warning_of(blank) == ("", False)


async def test_hostile_actor_documents_are_refused(
    make_pod: PodFactory, hostile: HostilePod, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    pod = await make_pod(federation={"fetch_timeout_seconds": 0.5})
    scene = Scene(pod, await pod.register("alice"), hostile)
    hostile.add_actor("huge", keys[0], summary="x" * (2 * 1024 * 1024))
    hostile.add_actor("html", keys[0])
    hostile.media_types["html"] = "text/html"
    hostile.add_actor("slow", keys[0])
    hostile.stalled.add("slow")
    for name, junk in (("deep", b"[" * 100_000 + b"]" * 100_000), ("bignum", b"7" * 5000)):
        hostile.add_actor(name, keys[0])
        doc = json.dumps(hostile.actor_doc(name)).encode()
        hostile.documents[f"/users/{name}"] = doc[:-1] + b', "attachment": ' + junk + b"}"
    # JSON-LD (it renames a term) that the processor fails on with a TypeError.
    renamed = {"inbox": "as:inbox"}
    hostile.add_actor("typeless", keys[0], **{"@context": [*AS_CONTEXT, renamed], "@type": None})
    before = await scene.state()
    for name in ("huge", "html", "slow", "deep", "bignum", "typeless"):
        status, data = await scene.post(scene.follow(name), signer=name)
        assert (status, _error(data)) == (401, "signature_key_unknown"), name
        resp, data = await pod.call(
            "GET", f"/api/v1/lookup?acct={hostile.handle(name)}", scene.alice
        )
        assert resp.status == 404, (name, resp.status, data)
    assert await scene.state() == before
    await scene.accepted(scene.follow())


async def test_unknown_keys_on_a_silent_host_are_fetched_a_few_at_a_time(
    make_pod: PodFactory,
    hostile: HostilePod,
    other: HostilePod,
    keys: tuple[RSAPrivateKey, RSAPrivateKey],
) -> None:
    """Inbox POSTs naming many new keys on a host that never answers: a few fetches go out at
    once, the rest wait and give up with the fetch timeout; keys elsewhere are fetched at once."""
    pod = await make_pod(federation={"fetch_timeout_seconds": 3.0})
    scene = Scene(pod, await pod.register("alice"), hostile)
    names = [f"silent{i}" for i in range(12)]
    for name in names:
        hostile.add_actor(name, keys[0])
        hostile.stalled.add(name)
    posts = [asyncio.create_task(scene.post(scene.follow(n), signer=n)) for n in names]

    async def fetches() -> int:
        return sum(hostile.fetches(f"/users/{n}") for n in names)

    await wait_for(fetches)
    # A key on another host meanwhile: fetched, and its Follow accepted.
    elsewhere = Scene(pod, scene.alice, other)
    await elsewhere.accepted(elsewhere.follow())
    await asyncio.sleep(0.2)
    assert await fetches() <= KEY_FETCHES_PER_HOST
    assert not any(p.done() for p in posts)
    for status, data in await asyncio.gather(*posts):
        assert (status, _error(data)) == (401, "signature_key_unknown")
    assert pod.app[FEDERATION].directory._key_slots == {}  # nothing kept for the host


async def test_webfinger_pointing_at_another_host_is_refused(
    scene: Scene, other: HostilePod
) -> None:
    hostile = scene.hostile
    hostile.links["mallory"] = other.actor("mallory")
    resp, data = await scene.pod.call(
        "GET", f"/api/v1/lookup?acct={hostile.handle('mallory')}", scene.alice
    )
    assert resp.status == 404, data
    # Only asked whether it gives its actor that handle (a split domain); not fetched.
    assert [r.partition("?")[0] for r in other.requests] == ["GET /.well-known/webfinger"]
    del hostile.links["mallory"]
    resp, data = await scene.pod.call(
        "GET", f"/api/v1/lookup?acct={hostile.handle('mallory')}", scene.alice
    )
    assert resp.status == 200, data


async def test_local_key_ids_are_not_fetched(scene: Scene) -> None:
    """A keyId naming one of the pod's own actors: never fetched, never filed as remote."""
    db = scene.pod.app[DB]
    identities = await db.fetchval("SELECT count(*) FROM identities")
    before = await scene.state()
    for key_id in (f"{scene.alice_uri}#main-key", f"{scene.pod.url}/actor#main-key"):
        follow = dict(scene.follow(), actor=key_id.split("#")[0])
        status, data = await scene.post(follow, key_id=key_id)
        assert (status, _error(data)) == (401, "signature_key_unknown"), key_id
    assert await db.fetchval("SELECT count(*) FROM remote_actors") == 0
    assert await db.fetchval("SELECT count(*) FROM identities") == identities
    assert await scene.state() == before


async def test_shared_inbox_on_another_origin_is_not_used(
    scene: Scene, other: HostilePod, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    uri = hostile.actor("relay")
    hostile.add_actor("relay", keys[0], endpoints={"sharedInbox": f"{other.base}/inbox"})
    await scene.accepted(scene.follow("relay"), signer="relay")
    _, post = await scene.pod.call(
        "POST", "/api/v1/posts", scene.alice, json={"body": "to my followers"}, expect=201
    )

    async def delivered() -> list[str]:
        docs = [json.loads(body) for _, body in hostile.received]
        return [d["object"]["id"] for d in docs if d["type"] == "Create"]

    assert await wait_for(delivered) == [post["uri"]]
    assert f"POST {urlsplit(uri).path}/inbox" in hostile.requests
    assert other.requests == []


async def test_nothing_is_taken_from_a_blocked_domain_via_others(
    make_pod: PodFactory, hostile: HostilePod, other: HostilePod
) -> None:
    pod = await make_pod(federation={"blocked_domains": [other.host]})
    scene = Scene(pod, await pod.register("alice"), hostile)
    await pod.call(
        "POST", "/api/v1/follows", scene.alice, json={"target": hostile.handle("mallory")},
        expect=201,
    )  # fmt: skip

    async def follow_sent() -> list[dict[str, Any]]:
        docs = [json.loads(body) for _, body in hostile.received]
        return [d for d in docs if d["type"] == "Follow"]

    follow = (await wait_for(follow_sent))[0]
    await scene.accepted(hostile.activity("mallory", "Accept", follow))

    # Mallory (not blocked) reshares a note that lives on the blocked domain.
    blocked_note = other.note("mallory", "from a blocked domain", [AS_PUBLIC])
    other.documents[urlsplit(blocked_note["id"]).path] = {"@context": AS_CONTEXT, **blocked_note}
    before = without_seen(await scene.state())
    status, data = await scene.post(hostile.activity("mallory", "Announce", blocked_note["id"]))
    assert status in (202, 403, 422), data
    assert other.requests == []
    assert without_seen(await scene.state()) == before

    # Nor is anything looked up there.
    resp, _ = await pod.call("GET", f"/api/v1/lookup?acct={other.handle('eve')}", scene.alice)
    assert resp.status == 404
    assert other.requests == []

    # The same reshare of a note on an allowed domain is fetched and stored.
    note = hostile.note("eve", "from an allowed domain", [AS_PUBLIC])
    hostile.documents[urlsplit(note["id"]).path] = {"@context": AS_CONTEXT, **note}
    await scene.accepted(hostile.activity("mallory", "Announce", note["id"]))
    assert await scene.post_body(note["id"]) == "from an allowed domain"


# --- threads and reshares: what a remote actor may answer or spread -------------------------


async def test_remote_replies_join_only_threads_their_author_may_read(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    bob = await pod.register("bob")
    _, space = await pod.call(
        "POST", "/api/v1/spaces", alice, json={"displayName": "Pottery", "visibility": "public"},
        expect=201,
    )  # fmt: skip
    _, in_space = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "glazes", "spaceId": space["id"]},
        expect=201,
    )  # fmt: skip
    _, direct = await pod.call(
        "POST", "/api/v1/posts", alice,
        json={"body": "only bob", "visibility": "direct", "recipients": ["bob"]}, expect=201,
    )  # fmt: skip
    _, open_post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    for parent in (in_space, direct, open_post):
        note = hostile.note("mallory", f"re {parent['body']}", [AS_PUBLIC], inReplyTo=parent["uri"])
        await scene.accepted(hostile.activity("mallory", "Create", note))

    async def comments(post: dict[str, Any], who: User) -> list[str]:
        _, items = await pod.call("GET", f"/api/v1/posts/{post['id']}/comments", who, expect=200)
        return [c["body"] for c in items]

    # A non-member answering in a space, or someone answering a post not shown to them: kept
    # apart from the thread, which neither shows it nor counts it, and alice is not told.
    assert await comments(in_space, alice) == []
    assert await comments(direct, bob) == []
    for post in (in_space, direct):
        _, seen = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        assert seen["counts"]["comments"] == 0
    # Its well-formed twin: a reply to a public post joins it and notifies its author.
    assert await comments(open_post, alice) == ["re hi"]
    _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert [n["kind"] for n in notes] == ["comment"]


@pytest.mark.parametrize("reply_first", [False, True])
async def test_a_reply_that_comes_before_its_post_joins_it_as_in_order(
    scene: Scene, reply_first: bool
) -> None:
    """Deliveries keep no order: a reply stored before the post it answers joins it when the
    post comes, shown, counted and told as it is when it comes second; one its author may not
    read (a direct post to alice) stays apart either way."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    mention = {"type": "Mention", "href": scene.alice_uri, "name": "@alice"}
    open_post = hostile.note("eve", "kiln day", [AS_PUBLIC], cc=[scene.alice_uri])
    direct = hostile.note("eve", "just for alice", [scene.alice_uri])
    replies = [
        hostile.note(
            "mallory", body, [AS_PUBLIC], cc=[scene.alice_uri], tag=[mention], inReplyTo=p["id"]
        )
        for body, p in (("how hot?", open_post), ("peek", direct))
    ]
    sends = [("mallory", r) for r in replies]
    posts = [("eve", open_post), ("eve", direct)]
    for name, note in [*sends, *posts] if reply_first else [*posts, *sends]:
        await scene.accepted(hostile.activity(name, "Create", note, to=note["to"]), name)
        if reply_first and note is replies[-1]:
            # Rendered (and cached) as a reply to nothing yet.
            author = (await scene.post_json(note["id"]) or {})["author"]["id"]
            _, listed = await pod.call("GET", f"/api/v1/identities/{author}/posts", alice)
            assert [p["inReplyTo"] for p in listed] == [None, None]

    async def thread(post: dict[str, Any]) -> tuple[list[str], int]:
        seen = await scene.post_json(post["id"])
        assert seen is not None
        _, items = await pod.call("GET", f"/api/v1/posts/{seen['id']}/comments", alice, expect=200)
        return [c["body"] for c in items], seen["counts"]["comments"]

    assert await thread(open_post) == (["how hot?"], 1)
    assert await thread(direct) == ([], 0)
    author = (await scene.post_json(replies[0]["id"]) or {})["author"]["id"]
    _, listed = await pod.call("GET", f"/api/v1/identities/{author}/posts", alice, expect=200)
    parent = await scene.post_json(open_post["id"])
    assert parent is not None
    assert {p["body"]: p["inReplyTo"] for p in listed} == {
        "how hot?": parent["id"],
        "peek": None,
    }
    _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert sorted(n["kind"] for n in notes) == ["mention", "mention"]


async def test_remote_reshares_spread_only_public_posts(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    await scene.accepted(scene.follow())  # mallory follows alice: may read her followers' posts
    _, private = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "ours", "visibility": "followers"},
        expect=201,
    )  # fmt: skip
    _, public = await pod.call("POST", "/api/v1/posts", alice, json={"body": "all"}, expect=201)
    for post in (private, public):
        await scene.accepted(hostile.activity("mallory", "Announce", post["uri"]))
    for post, reshares in ((private, 0), (public, 1)):
        _, seen = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        assert seen["counts"]["reshares"] == reshares
    _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert [n["kind"] for n in notes if n["kind"] == "reshare"] == ["reshare"]


# --- what other servers need of what we send -------------------------------------------------


async def _created(hostile: HostilePod, n: int) -> dict[str, dict[str, Any]]:
    """The Notes of the first `n` Creates delivered to the hostile pod, by id."""

    async def arrived() -> dict[str, dict[str, Any]] | None:
        sent = [json.loads(body) for _, body in hostile.received]
        notes = {a["object"]["id"]: a["object"] for a in sent if a["type"] == "Create"}
        return notes if len(notes) >= n else None

    return await wait_for(arrived)


async def test_notes_mention_everyone_they_address(scene: Scene) -> None:
    """GoToSocial keeps a post only if it mentions its receiver or they follow its author: a
    direct post's recipients and the author a reply answers are mentioned, named or not."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    mallory, eve = hostile.actor("mallory"), hostile.actor("eve")

    def mention(name: str) -> dict[str, str]:
        return {"type": "Mention", "href": hostile.actor(name), "name": f"@{hostile.handle(name)}"}

    async def write(body: str, **fields: Any) -> str:
        _, out = await pod.call(
            "POST", "/api/v1/posts", alice, json={"body": body, **fields}, expect=201
        )
        return out["uri"]

    direct = await write("just us", visibility="direct", recipients=[hostile.handle("mallory")])
    question = hostile.note("mallory", "anyone?", [AS_PUBLIC, scene.alice_uri])
    await scene.accepted(hostile.activity("mallory", "Create", question))
    parent = await pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (question["id"],))
    reply = await write("me!", inReplyTo=parent)
    # A direct reply to others is not addressed to the author it answers.
    aside = await write("psst", inReplyTo=parent, visibility="direct",
                        recipients=[hostile.handle("eve")])  # fmt: skip

    notes = await _created(hostile, 3)
    assert (notes[direct]["to"], notes[direct]["tag"]) == ([mallory], [mention("mallory")])
    assert notes[reply]["inReplyTo"] == question["id"]
    assert mallory in notes[reply]["cc"] and mention("mallory") in notes[reply]["tag"]
    assert (notes[aside]["to"], notes[aside]["cc"]) == ([eve], [])
    assert notes[aside]["tag"] == [mention("eve")]


MISSKEY_CONTEXT = [
    *AS_CONTEXT,
    {"misskey": "https://misskey-hub.net/ns#", "_misskey_reaction": "misskey:_misskey_reaction"},
]


async def test_misskey_reactions_are_reactions(scene: Scene) -> None:
    """Misskey sends an emoji reaction as a Like with `_misskey_reaction` (and `content`), and
    takes it back with an Undo of that Like. A custom `:name:` emoji is not kept: a like."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    _, target = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    async def seen() -> tuple[list[dict[str, Any]], int]:
        _, post = await pod.call("GET", f"/api/v1/posts/{target['id']}", alice, expect=200)
        return post["reactions"], post["counts"]["likes"]

    def like(name: str, emoji: str) -> dict[str, Any]:
        doc = hostile.activity(name, "Like", target["uri"], content=emoji, _misskey_reaction=emoji)
        return {**doc, "@context": MISSKEY_CONTEXT}

    reaction = like("mallory", "👍")
    await scene.accepted(reaction)
    await scene.accepted(like("eve", ":blobcat:"), signer="eve")
    assert await seen() == ([{"emoji": "👍", "count": 1}], 1)
    _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert sorted(n["kind"] for n in notes) == ["like", "reaction"]

    undo = hostile.activity("mallory", "Undo", {k: v for k, v in reaction.items() if k[0] != "@"})
    await scene.accepted({**undo, "@context": MISSKEY_CONTEXT})
    assert await seen() == ([], 1)


async def test_unknown_actors_deleting_themselves_cost_nothing(scene: Scene) -> None:
    """Mastodon sends Delete{actor == object} to every inbox it knows when an account goes.
    From an actor we never stored it is answered 202 without fetching its key (gone: 410);
    nothing else is taken unverified."""
    hostile = scene.hostile

    def delete(name: str, obj: str | None = None) -> dict[str, Any]:
        actor = hostile.actor(name)
        return hostile.activity(name, "Delete", obj or actor, to=[AS_PUBLIC])

    before = await scene.state()
    for n in range(12):
        name = f"gone{n}"
        status, data = await scene.post(delete(name), key_id=hostile.key_id(name))
        assert status == 202, data
    assert hostile.requests == []
    assert await scene.state() == before
    # A new actor from that host is fetched and heard.
    await scene.accepted(scene.follow())
    assert await scene.followers() == [hostile.handle("mallory")]

    # Its twins are verified: a Delete of something else by an unknown actor fetches the key...
    gone = hostile.actor("gone")
    status, data = await scene.post(delete("gone", f"{gone}/notes/1"), key_id=f"{gone}#main-key")
    assert (status, _error(data)) == (401, "signature_key_unknown")
    assert hostile.fetches("/users/gone") == 1
    # ...and a known actor deleting itself is heard.
    await scene.accepted(delete("mallory"))
    assert await scene.followers() == []


async def test_an_actor_deleting_itself_is_gone_whatever_its_inbox(scene: Scene) -> None:
    """An actor whose own inbox is its pod's shared inbox (some servers give one inbox for all)
    is marked gone by its own Delete; the others using that inbox are not."""
    hostile = scene.hostile
    hostile.overrides["mallory"]["inbox"] = f"{hostile.base}/inbox"
    await scene.accepted(scene.follow())
    await scene.accepted(scene.follow("eve"), signer="eve")
    delete = hostile.activity("mallory", "Delete", hostile.actor("mallory"), to=[AS_PUBLIC])
    await scene.accepted(delete)
    rows = await scene.pod.app[DB].fetchall("SELECT uri, gone_at IS NOT NULL FROM remote_actors")
    assert sorted((uri, bool(gone)) for uri, gone in rows) == sorted(
        [(hostile.actor("mallory"), True), (hostile.actor("eve"), False)]
    )
    assert await scene.followers() == [hostile.handle("eve")]


# --- values of the wrong kind or wrong text -------------------------------------------------

LONE = "\ud800"  # json.dumps sends it as the escape `\ud800`, as a JavaScript server may
MENDED = "\ufffd"
NOT_ONE_TYPE: list[Any] = [["Person"], {"id": "Person"}, 7, None]


async def _alice_follows_mallory(scene: Scene) -> None:
    hostile = scene.hostile
    await scene.pod.call(
        "POST", "/api/v1/follows", scene.alice, json={"target": hostile.handle("mallory")},
        expect=201,
    )  # fmt: skip
    follow = {"type": "Follow", "actor": scene.alice_uri, "object": hostile.actor("mallory")}
    await scene.accepted(hostile.activity("mallory", "Accept", follow))


async def _name_of(scene: Scene, handle: str) -> str:
    _, found = await scene.pod.call("GET", f"/api/v1/lookup?acct={handle}", scene.alice,
                                    expect=200)  # fmt: skip
    return found["displayName"]


async def test_lone_surrogates_are_mended_not_a_crash(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    # In an actor document met for the first time, and in the activities it signs.
    hostile.add_actor("cut", keys[0], summary=f"<p>bio{LONE}</p>")
    hostile.overrides["cut"]["name"] = f"Cut{LONE}"  # `name` is add_actor's own argument
    await scene.accepted(scene.follow("cut"), "cut")
    assert await _name_of(scene, hostile.handle("cut")) == f"Cut{MENDED}"
    note = hostile.note("cut", f"caf{LONE}", [scene.alice_uri], summary=f"cw{LONE}")
    note["inReplyTo"] = f"{hostile.base}/notes/{LONE}"
    await scene.accepted(hostile.activity("cut", "Create", note), "cut")
    post = await scene.post_json(note["id"])
    assert post is not None
    assert (post["body"], post["contentWarning"]) == (f"caf{MENDED}", f"cw{MENDED}")
    for kind in ("Like", "Announce", "Undo", "Delete", "Accept", "Reject", "Block"):
        await scene.accepted(hostile.activity("cut", kind, f"{hostile.base}/x/{LONE}"), "cut")
    # In a profile fetched again on its Update.
    hostile.overrides["cut"]["name"] = f"Cut again{LONE}"
    await scene.accepted(hostile.activity("cut", "Update", hostile.actor_doc("cut")), "cut")
    assert await _name_of(scene, hostile.handle("cut")) == f"Cut again{MENDED}"
    # In a reshared note fetched from its origin.
    await _alice_follows_mallory(scene)
    path = "/users/eve/notes/cut"
    hostile.documents[path] = hostile.note("eve", f"re{LONE}", [AS_PUBLIC], id=hostile.base + path)
    await scene.accepted(hostile.activity("mallory", "Announce", hostile.base + path))
    assert await scene.post_body(hostile.base + path) == f"re{MENDED}"


async def test_a_known_author_whose_pod_does_not_answer_now_is_taken_as_stored(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """Met again once its profile is due a refresh, an author whose actor document cannot be
    fetched now (a timeout, a 5xx) is the one we stored, as it is when looked up by handle:
    a reshare of its post is not refused with a 404, which the sender takes as final. One
    whose document is gone (410) is not."""
    pod = await make_pod(federation={"fetch_timeout_seconds": 0.5})
    scene = Scene(pod, await pod.register("alice"), hostile)
    await _alice_follows_mallory(scene)
    await scene.accepted(scene.follow("eve"), signer="eve")  # eve is stored
    pod.clock.advance(timedelta(days=3))  # and due a refresh
    hostile.stalled.add("eve")

    path = "/users/eve/notes/kept"
    hostile.documents[path] = hostile.note("eve", "kept", [AS_PUBLIC], id=hostile.base + path)
    await scene.accepted(hostile.activity("mallory", "Announce", hostile.base + path))
    post = await scene.post_json(hostile.base + path)
    assert post is not None and post["author"]["handle"] == hostile.handle("eve"), post

    # Answering 503 is not answering either.
    hostile.stalled.discard("eve")
    hostile.statuses["/users/eve"] = 503
    path = "/users/eve/notes/kept-too"
    hostile.documents[path] = hostile.note("eve", "kept", [AS_PUBLIC], id=hostile.base + path)
    await scene.accepted(hostile.activity("mallory", "Announce", hostile.base + path))
    assert await scene.post_json(hostile.base + path) is not None

    # An actor whose document is gone is not answered from what we stored.
    hostile.statuses["/users/eve"] = 410
    before = await scene.state()
    path = "/users/eve/notes/gone"
    hostile.documents[path] = hostile.note("eve", "gone", [AS_PUBLIC], id=hostile.base + path)
    status, data = await scene.post(hostile.activity("mallory", "Announce", hostile.base + path))
    assert (status, _error(data)) == (404, "not_found")
    assert without_seen(await scene.state()) == without_seen(before)


async def test_an_object_by_several_authors_is_its_first_authors(scene: Scene) -> None:
    """`attributedTo` listing several authors (as strings or objects) names the first, as
    Mastodon reads it: that one must be the sender."""
    hostile = scene.hostile
    eve = {"type": "Person", "id": hostile.actor("eve")}
    for n, authors in enumerate(
        (
            [hostile.actor("mallory"), eve["id"]],
            [{"type": "Person", "id": hostile.actor("mallory")}, eve],
        )
    ):
        article = hostile.note(
            "mallory", f"co-written {n}", [scene.alice_uri], type="Article", attributedTo=authors
        )
        await scene.accepted(hostile.activity("mallory", "Create", article))
        post = await scene.post_json(article["id"])
        assert post is not None and post["body"] == f"co-written {n}", post
        assert post["author"]["handle"] == hostile.handle("mallory")
    before = await scene.state()
    forged = hostile.note(
        "mallory", "eve's", [scene.alice_uri], attributedTo=[eve, hostile.actor("mallory")]
    )
    status, data = await scene.post(hostile.activity("mallory", "Create", forged))
    assert (status, _error(data)) == (403, "actor_mismatch")
    assert await scene.state() == before


async def test_types_that_are_not_one_string_are_refused(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    hostile = scene.hostile
    await _alice_follows_mallory(scene)
    before = await scene.state()
    for n, kind in enumerate(NOT_ONE_TYPE):
        # An actor document met for the first time: its key cannot be used.
        name = f"odd{n}"
        hostile.add_actor(name, keys[0], type=kind)
        status, data = await scene.post(scene.follow(name), name)
        assert (status, _error(data)) == (401, "signature_key_unknown"), kind
        # An Update of an actor: neither a profile nor a note.
        update = hostile.activity(
            "mallory", "Update", {**hostile.actor_doc("mallory"), "type": kind}
        )
        status, data = await scene.post(update)
        assert (status, _error(data)) == (422, "invalid_object"), kind
        # A reshared note fetched from its origin.
        path = f"/users/eve/notes/odd{n}"
        hostile.documents[path] = hostile.note(
            "eve", "odd", [AS_PUBLIC], id=hostile.base + path, type=kind
        )
        status, data = await scene.post(
            hostile.activity("mallory", "Announce", hostile.base + path)
        )
        assert (status, _error(data)) == (422, "unfetchable_object"), kind
    assert await scene.state() == before

    # An attachment of no one type is skipped; the note and its other attachment are kept.
    pic = {"type": "Image", "mediaType": "image/png", "url": "https://cdn.example/a.png"}
    odd = [{**pic, "type": kind} for kind in NOT_ONE_TYPE]
    note = hostile.note("mallory", "pictures", [scene.alice_uri], attachment=[*odd, pic])
    await scene.accepted(hostile.activity("mallory", "Create", note))
    post = await scene.post_json(note["id"])
    assert post is not None
    assert [a["url"] for a in post["attachments"]] == ["https://cdn.example/a.png"]


async def test_share_lists_that_are_not_lists_are_read_as_empty(scene: Scene) -> None:
    hostile = scene.hostile
    for n, junk in enumerate((7, True, 1.5, {"id": "x"})):
        share = hostile.share("mallory", scene.alice_uri, labels=junk, itemIds=junk)
        await scene.accepted(hostile.share_activity("mallory", "Create", share))
        assert len(await incoming_shares(scene)) == n + 1


async def test_json_ld_that_would_take_long_is_refused_at_once(scene: Scene) -> None:
    """A document needing JSON-LD processing (its context renames our terms) is refused when
    that could hold the pod long: scoped contexts, which pyld applies afresh to every node
    they cover (a few hundred kilobytes took it minutes), or more values than MAX_LD_VALUES.
    Its small twin is processed."""
    hostile = scene.hostile
    renamed = {"by": {"@id": "as:actor", "@type": "@id"}}

    def create(body: str, context: dict[str, Any], tags: list[Any]) -> dict[str, Any]:
        note = hostile.note("mallory", body, [scene.alice_uri], tag=tags)
        activity = {
            **hostile.activity("mallory", "Create", note),
            "@context": [*AS_CONTEXT, context],
        }
        activity["by"] = activity.pop("actor")
        return activity

    scoped = {f"term{i}": f"https://evil.example/ns#term{i}" for i in range(100)}
    tags = [{"type": "Hashtag", "name": f"#t{i}"} for i in range(2000)]
    refused = [
        create(
            "typed", {**renamed, "Hashtag": {"@id": "as:Hashtag", "@context": scoped}}, tags[:3]
        ),
        create("scoped", {**renamed, "tag": {"@id": "as:tag", "@context": scoped}}, tags[:3]),
        create("many", renamed, tags),
    ]
    before = await scene.state()
    for activity in refused:
        status, data = await scene.post(activity)
        assert (status, _error(data)) == (400, "invalid_jsonld"), activity["object"]["content"]
    assert await scene.state() == before

    few = create("few", renamed, tags[:3])
    await scene.accepted(few)
    assert await scene.post_body(few["object"]["id"]) == "few"


async def test_unlisted_notes_stay_out_of_hashtag_streams(scene: Scene) -> None:
    """Mastodon's "unlisted" (the public in `cc` only): anyone may read it, as a public post,
    but it shows in no hashtag stream, nor in the main stream of who follows the hashtag."""
    pod, hostile = scene.pod, scene.hostile
    await _alice_follows_mallory(scene)
    bob = await pod.register("bob")
    await pod.call("POST", "/api/v1/tag_followings", bob, json={"name": "garden"}, expect=201)
    followers = f"{hostile.actor('mallory')}/followers"
    tag = [{"type": "Hashtag", "name": "#garden", "href": f"{hostile.base}/tags/garden"}]
    unlisted = hostile.note("mallory", "quiet #garden", [followers], cc=[AS_PUBLIC], tag=tag)
    public = hostile.note("mallory", "loud #garden", [AS_PUBLIC], cc=[followers], tag=tag)
    # Followers only, to bob too: its hashtag is kept, for the readers it has.
    mine = hostile.note(
        "mallory", "ours #garden", [followers], cc=[f"{pod.url}/users/bob"], tag=tag
    )
    for note in (unlisted, public, mine):
        await scene.accepted(hostile.activity("mallory", "Create", note))

    async def bodies(path: str, who: User | None) -> list[str]:
        _, items = await pod.call("GET", path, who, expect=200)
        return [p["body"] for p in items]

    shown = ["ours #garden", "loud #garden"]
    assert await bodies("/api/v1/tags/garden/posts", bob) == shown
    assert await bodies("/api/v1/streams/main", bob) == shown
    assert await bodies("/api/v1/streams/tags", bob) == shown
    # Still public: alice sees it, as she follows mallory, and anyone may read it.
    assert "quiet #garden" in await bodies("/api/v1/streams/main", scene.alice)
    post = await scene.post_json(unlisted["id"])
    assert post is not None and post["visibility"] == "public"
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)


async def test_usernames_that_would_not_show_as_themselves_are_refused(
    scene: Scene, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A handle is `username@host`: a username with an @ reads as another host's, and one with
    bidi overrides, zero-width or control characters or spaces hides or reorders itself."""
    hostile = scene.hostile
    spoofs = ["alice@pod.example", "moc.elpmaxe\u202e", "ali\u200bce", "ali ce", "nul\x00", "a\tb"]
    before = await scene.state()
    for n, username in enumerate(spoofs):
        hostile.add_actor(f"spoof{n}", keys[0], preferredUsername=username)
        status, data = await scene.post(scene.follow(f"spoof{n}"), f"spoof{n}")
        assert (status, _error(data)) == (401, "signature_key_unknown"), username
    assert await scene.state() == before
    # A known actor renaming itself so is not taken in either.
    await scene.accepted(scene.follow())
    hostile.overrides["mallory"]["preferredUsername"] = spoofs[1]
    status, _ = await scene.post(
        hostile.activity("mallory", "Update", hostile.actor_doc("mallory"))
    )
    assert status in (404, 422)
    assert await scene.followers() == [hostile.handle("mallory")]
    # Letters of any script, digits, dots, dashes and colons are names.
    hostile.add_actor("plain", keys[0], preferredUsername="Zoë.Łódź-1:ok")
    await scene.accepted(scene.follow("plain"), "plain")
    assert f"Zoë.Łódź-1:ok@{hostile.host}" in await scene.followers()


async def test_content_with_markup_nested_past_bounds_is_refused(scene: Scene) -> None:
    """The sanitiser's time grows with the square of how deeply markup nests: content with
    more than MAX_MARKUP tags is refused before it is parsed. Its long, plainer twin is kept."""
    hostile = scene.hostile
    before = await scene.state()
    for markup in ("<dl><dt>", "<ul><li>", "<b></p>"):
        body = markup * (MAX_MARKUP // markup.count("<") + 1)
        note = hostile.note("mallory", body, [scene.alice_uri])
        status, data = await scene.post(hostile.activity("mallory", "Create", note))
        assert (status, _error(data)) == (422, "invalid_object"), markup
    assert await scene.state() == before
    text = "<p>" + "a line of text, " * 2000 + "</p>"
    note = hostile.note("mallory", text * 2, [scene.alice_uri])
    await scene.accepted(hostile.activity("mallory", "Create", note))
    assert await scene.post_json(note["id"]) is not None


async def test_an_edit_of_our_post_is_bounded_before_its_markup_is_parsed(scene: Scene) -> None:
    """An Update naming one of our posts is a grantee's edit through a share: its HTML is
    checked against the same bounds as a note's before the sanitiser parses it, whoever sent
    it (the access check comes after, and the parser's time grows with the square of the
    nesting: a 1 MiB body would have held the pod for minutes)."""
    pod, hostile = scene.pod, scene.hostile
    _, post = await pod.call("POST", "/api/v1/posts", scene.alice, json={"body": "mine"},
                             expect=201)  # fmt: skip
    before = await scene.state()
    edit = {"id": post["uri"], "type": "Note", "content": "<dl><dt>" * 20_000}
    status, data = await scene.post(hostile.activity("mallory", "Update", edit))
    assert (status, _error(data)) == (422, "invalid_object")
    # Its small twin reaches the access check, which refuses mallory (no share).
    status, data = await scene.post(hostile.activity("mallory", "Update", {**edit, "content": "x"}))
    assert status in (403, 404), data
    assert await scene.state() == before
    assert await scene.post_body(post["uri"]) == "mine"


async def test_an_older_update_arriving_late_does_not_undo_a_newer_one(scene: Scene) -> None:
    hostile = scene.hostile
    note = hostile.note("eve", "first", [scene.alice_uri], published="2026-01-01T00:00:00Z")
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    newer = dict(note, content="<p>third</p>", updated="2026-01-01T00:03:00Z")
    older = dict(note, content="<p>second</p>", summary="spoiler", updated="2026-01-01T00:02:00Z")
    # Deliveries between pods keep no order: the second edit comes after the third.
    await scene.accepted(hostile.activity("eve", "Update", newer), signer="eve")
    await scene.accepted(hostile.activity("eve", "Update", older), signer="eve")
    post = await scene.post_json(note["id"])
    assert post is not None
    assert (post["body"], post["contentWarning"]) == ("third", "")
    # A newer edit still applies.
    newest = dict(note, content="<p>fourth</p>", updated="2026-01-01T00:04:00Z")
    await scene.accepted(hostile.activity("eve", "Update", newest), signer="eve")
    assert await scene.post_body(note["id"]) == "fourth"


async def test_an_update_arriving_before_its_create_keeps_the_post(scene: Scene) -> None:
    hostile = scene.hostile
    note = hostile.note("eve", "first", [scene.alice_uri], published="2026-01-01T00:00:00Z")
    edited = dict(note, content="<p>edited</p>", updated="2026-01-01T00:01:00Z")
    # The Create is delayed (a retry) and its Update arrives first: the post is not lost.
    await scene.accepted(hostile.activity("eve", "Update", edited), signer="eve")
    assert await scene.post_body(note["id"]) == "edited"
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    assert await scene.post_body(note["id"]) == "edited"
    db = scene.pod.app[DB]
    assert await db.fetchval("SELECT count(*) FROM posts WHERE ap_id = ?", (note["id"],)) == 1
    # Once deleted, neither brings it back.
    await scene.accepted(hostile.activity("eve", "Delete", note["id"]), signer="eve")
    await scene.accepted(hostile.activity("eve", "Update", edited), signer="eve")
    assert await scene.post_body(note["id"]) is None


async def test_edits_of_a_note_that_leaves_out_its_publication_time_apply_in_order(
    scene: Scene,
) -> None:
    hostile = scene.hostile
    note = hostile.note("eve", "first", [scene.alice_uri])  # no `published`
    await scene.accepted(hostile.activity("eve", "Create", note), signer="eve")
    for n, text in enumerate(("second", "third"), 2):
        edited = dict(note, content=f"<p>{text}</p>", updated=f"2026-01-01T00:0{n}:00Z")
        await scene.accepted(hostile.activity("eve", "Update", edited), signer="eve")
        assert await scene.post_body(note["id"]) == text
    older = dict(note, content="<p>stale</p>", updated="2026-01-01T00:01:00Z")
    await scene.accepted(hostile.activity("eve", "Update", older), signer="eve")
    assert await scene.post_body(note["id"]) == "third"
