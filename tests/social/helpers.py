"""Small helpers for the social tests: posting, reading streams page by page, notifications."""

from __future__ import annotations

from typing import Any

from tests.support import Pod, User, parse_links

API = "/api/v1"


async def post(pod: Pod, user: User, body: str, **fields: Any) -> dict[str, Any]:
    _, out = await pod.call("POST", f"{API}/posts", user, json={"body": body, **fields}, expect=201)
    return out


async def comment(pod: Pod, user: User, parent: str, body: str, **fields: Any) -> dict[str, Any]:
    return await post(pod, user, body, inReplyTo=parent, **fields)


async def get_post(pod: Pod, user: User, guid: str) -> dict[str, Any]:
    _, out = await pod.call("GET", f"{API}/posts/{guid}", user, expect=200)
    return out


async def items(pod: Pod, user: User, path: str, **query: Any) -> list[dict[str, Any]]:
    """The first page of a listing (`path` under /api/v1)."""
    _, out = await pod.call("GET", f"{API}{path}", user, expect=200, params=query)
    return out


async def bodies(pod: Pod, user: User, path: str, **query: Any) -> list[str]:
    return [p["body"] for p in await items(pod, user, path, **query)]


async def walk(
    pod: Pod, user: User, path: str, per_page: int
) -> tuple[list[list[dict[str, Any]]], list[dict[str, str]]]:
    """Every page of a listing by its `next` links: (pages, the Link header of each)."""
    resp, page = await pod.call(
        "GET", f"{API}{path}", user, expect=200, params={"per_page": str(per_page)}
    )
    pages, links = [page], [parse_links(resp.headers.get("Link"))]
    while "next" in links[-1]:
        assert len(pages) < 1000, "the next links never end"
        resp, page = await pod.follow(links[-1]["next"], user)
        pages.append(page)
        links.append(parse_links(resp.headers.get("Link")))
    return pages, links


async def notifications(pod: Pod, user: User, **query: Any) -> list[dict[str, Any]]:
    return await items(pod, user, "/notifications", per_page="100", **query)


async def kinds(pod: Pod, user: User) -> list[tuple[str, str | None]]:
    """(kind, actor username) of each notification, newest first."""
    return [
        (n["kind"], n["actor"]["username"] if n["actor"] else None)
        for n in await notifications(pod, user)
    ]


async def badge(pod: Pod, user: User) -> int:
    _, out = await pod.call("GET", f"{API}/notifications/badge", user, expect=200)
    return out["unread"]


async def status(pod: Pod, method: str, path: str, user: User | None, **kw: Any) -> int:
    resp, _ = await pod.call(method, f"{API}{path}", user, **kw)
    return resp.status


async def follow(pod: Pod, user: User, target: str) -> dict[str, Any]:
    """Follow a local identity by username (or a handle); the answer's state tells the outcome."""
    resp, out = await pod.call("POST", f"{API}/follows", user, json={"target": target})
    assert resp.status in (200, 201), out
    return out


async def unfollow(pod: Pod, user: User, identity_id: str) -> None:
    await pod.call("DELETE", f"{API}/follows/{identity_id}", user, expect=204)
