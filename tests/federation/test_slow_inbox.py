"""An inbox waits for an activity's body no longer than `server.body_read_timeout_seconds`: a
peer that sends less than its Content-Length says gets a 408 in the error shape and nothing is
written, rather than holding the connection and its handler until it gives up. The same
activity sent whole is accepted."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import HostilePod
from tests.support import Pod

LIMIT = 0.5  # seconds
SLACK = 3.0  # for a slow, shared machine; far below the wait without a bound


async def effects(pod: Pod) -> tuple[int, int]:
    db = pod.app[DB]
    return (
        await db.fetchval("SELECT count(*) FROM follows"),
        await db.fetchval("SELECT count(*) FROM inbox_seen"),
    )


@pytest.mark.parametrize("encoding", [None, "gzip"])
@pytest.mark.parametrize("path", ["/inbox", "/users/alice/inbox"])
async def test_an_activity_cut_short_is_a_408(
    make_pod: PodFactory, hostile: HostilePod, path: str, encoding: str | None
) -> None:
    pod = await make_pod(server={"body_read_timeout_seconds": LIMIT})
    alice = await pod.register("alice")
    follow = hostile.activity("mallory", "Follow", f"{pod.url}/users/alice")
    raw = json.dumps(follow).encode()
    url = pod.url + path
    # The digest is of the body as it reads once decoded.
    headers: dict[str, Any] = hostile.signed(url, raw, pod.clock.now(), signer="mallory")
    body = raw
    if encoding:
        headers["content-encoding"] = encoding
        body = gzip.compress(raw)
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append(f"Content-Length: {len(body)}")

    status, answered, answer, took = await pod.stalled("\r\n".join(lines).encode(), body[:10])
    assert status == 408, answer
    assert json.loads(answer)["error"] == "request_timeout"
    assert answered.get("connection") == "close", answered
    assert took < LIMIT + SLACK, took
    assert await effects(pod) == (0, 0)

    # The same bytes, all of them: the peer is heard.
    status, data = await hostile.send(url, body, headers)
    assert status == 202, data
    _, followers = await pod.call("GET", "/api/v1/identities/current/followers", alice, expect=200)
    assert [f["identity"]["handle"] for f in followers] == [hostile.handle("mallory")]
