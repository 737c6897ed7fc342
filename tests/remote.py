"""A scripted remote server for delivery tests: one actor with a real key, an inbox that answers
with whatever status the test queues, and a record of what it received."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation import httpsig
from federation.routes import FEDERATION
from node.clock import Clock
from node.store import identities as identity_store
from tests.support import Pod, User


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class RemoteServer:
    def __init__(self, key: rsa.RSAPrivateKey, username: str = "remote") -> None:
        self.key = key
        self.username = username
        self.answers: list[Answer] = []  # consumed in order; then 202
        self.received: list[dict[str, Any]] = []
        self.server: TestServer | None = None
        self.before_answer: Callable[[], Awaitable[None]] | None = None  # e.g. to be slow

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def actor(self) -> str:
        return f"{self.base}/users/{self.username}"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    def _actor_doc(self) -> dict[str, Any]:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Person",
            "preferredUsername": self.username,
            "inbox": f"{self.actor}/inbox",
            "followers": f"{self.actor}/followers",
            "publicKey": {"id": self.key_id, "owner": self.actor, "publicKeyPem": pem.decode()},
        }

    async def _get_actor(self, request: web.Request) -> web.Response:
        return web.json_response(self._actor_doc(), content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        if self.before_answer is not None:
            await self.before_answer()
        if self.answers:
            answer = self.answers.pop(0)
            return web.Response(status=answer.status, headers=answer.headers)
        return web.Response(status=202)

    def stall(self) -> asyncio.Event:
        """Answer nothing until the event returned is set."""
        release = asyncio.Event()

        async def stalled() -> None:
            await release.wait()

        self.before_answer = stalled
        return release

    async def start(self) -> RemoteServer:
        app = web.Application()
        app.router.add_get(f"/users/{self.username}", self._get_actor)
        app.router.add_post(f"/users/{self.username}/inbox", self._inbox)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def like_of_nothing(self, pod_url: str) -> dict[str, Any]:
        """A Like of a post the pod never had: a signed word from this server, changing nothing."""
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.actor}#like-1",
            "type": "Like",
            "actor": self.actor,
            "object": f"{pod_url}/posts/{'0' * 32}",
        }

    def signed(
        self, url: str, activity: dict[str, Any], clock: Clock
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(activity).encode()
        headers = httpsig.sign_request("POST", url, body, self.key_id, self.key, clock.now())
        return body, headers


async def followed_by(pod: Pod, remote: RemoteServer, alice: User | None = None) -> User:
    """alice (registered unless given) on the pod, followed by the remote actor, as if its
    Follow had arrived; the Accept is queued."""
    alice = alice or await pod.register("alice")
    fed = pod.app[FEDERATION]
    follower = await fed.directory.resolve_uri(remote.actor)
    me = await identity_store.get(fed.db, alice.identity_id)
    assert me is not None
    async with fed.db.transaction() as tx:
        await fed.services.follows.remote_follow(tx, follower, me, f"{remote.actor}#follow")
    return alice
