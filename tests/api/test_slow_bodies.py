"""A request body that stops short of its Content-Length is waited for no longer than
`server.body_read_timeout_seconds`: the answer is a 408 in the error shape, and nothing is
written. Without the bound, the connection and its handler stayed until the client gave up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.appkeys import DB
from tests.api.test_media_flow import announce, image_bytes, leftovers, media_rows
from tests.support import Pod

LIMIT = 0.5  # seconds
SLACK = 3.0  # for a slow, shared machine; far below the wait without a bound


@pytest.fixture
async def pod(make_pod: Any) -> Pod:
    return await make_pod(server={"body_read_timeout_seconds": LIMIT})


def request_head(pod: Pod, method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {pod.host}", *headers, "Content-Length: 100"]
    return "\r\n".join(lines).encode()


def timed_out(status: int, headers: dict[str, str], body: bytes, took: float) -> None:
    assert status == 408, body
    # The rest of the body may still come: the connection is not read from again.
    assert headers.get("connection") == "close", headers
    assert json.loads(body)["error"] == "request_timeout"
    assert LIMIT - 0.1 < took < LIMIT + SLACK, took


async def test_a_json_body_cut_short_is_a_408_and_writes_nothing(pod: Pod) -> None:
    alice = await pod.register("alice")
    head = request_head(
        pod,
        "POST",
        "/api/v1/posts",
        f"Authorization: Bearer {alice.token}",
        "Content-Type: application/json",
    )
    status, headers, body, took = await pod.stalled(head, b'{"body": "')
    timed_out(status, headers, body, took)
    _, posts = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}/posts", alice)
    assert posts == []

    # Without a token too: registering reads its body the same way.
    head = request_head(pod, "POST", "/api/v1/accounts", "Content-Type: application/json")
    status, headers, body, took = await pod.stalled(head, b'{"username')
    timed_out(status, headers, body, took)
    assert await pod.app[DB].fetchval("SELECT count(*) FROM accounts") == 1


async def test_an_upload_that_stalls_is_a_408_and_leaves_nothing(pod: Pod) -> None:
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    head = request_head(
        pod,
        "PUT",
        ticket["uploadUrl"].removeprefix(pod.url),
        "Content-Type: image/png",
        f"Content-Disposition: {ticket['contentDispositionHeader']}",
    )
    # The whole upload may take up to media.upload_url_minutes (15); a stall is cut short.
    status, headers, body, took = await pod.stalled(head, image_bytes()[:10])
    timed_out(status, headers, body, took)
    assert await media_rows(pod) == 0 and leftovers(pod) == []


async def test_a_json_body_declared_over_the_limit_is_a_413_at_once(pod: Pod) -> None:
    """Told from its Content-Length, before any of it is read: not after the body read time,
    nor once the limit's worth has arrived."""
    alice = await pod.register("alice")
    head = "\r\n".join(
        [
            "POST /api/v1/posts HTTP/1.1",
            f"Host: {pod.host}",
            f"Authorization: Bearer {alice.token}",
            "Content-Type: application/json",
            f"Content-Length: {pod.config.server.max_body_bytes + 1}",
        ]
    ).encode()
    status, headers, body, took = await pod.stalled(head, b'{"body": "')
    assert status == 413, body
    assert json.loads(body)["error"] == "payload_too_large"
    assert headers.get("connection") == "close", headers
    assert took < LIMIT, took
    _, posts = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}/posts", alice)
    assert posts == []
