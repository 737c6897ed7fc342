"""Helpers for space tests: make a space, an invite, join, post."""

from __future__ import annotations

from typing import Any

from tests.support import Pod, User


async def make_space(pod: Pod, user: User, **fields: Any) -> dict[str, Any]:
    body = {"displayName": "Gardeners", **fields}
    _, space = await pod.call("POST", "/api/v1/spaces", user, json=body, expect=201)
    return space


async def make_private(pod: Pod, user: User, space_id: str) -> None:
    private = {"visibility": "private"}
    await pod.call("PATCH", f"/api/v1/spaces/{space_id}", user, json=private, expect=200)


async def make_invite(pod: Pod, user: User, space_id: str, **fields: Any) -> dict[str, Any]:
    _, invite = await pod.call(
        "POST", f"/api/v1/spaces/{space_id}/my-invite", user, json=fields, expect=201
    )
    return invite


async def join(
    pod: Pod, user: User, space_id: str, expect: int = 200, **body: Any
) -> dict[str, Any]:
    _, data = await pod.call(
        "POST", f"/api/v1/spaces/{space_id}/join", user, json=body, expect=expect
    )
    return data


async def post_in(pod: Pod, user: User, space_id: str, text: str, **extra: Any) -> dict[str, Any]:
    _, post = await pod.call(
        "POST", "/api/v1/posts", user, json={"body": text, "spaceId": space_id, **extra},
        expect=201,
    )  # fmt: skip
    return post


async def space_posts(pod: Pod, user: User, space_id: str) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", f"/api/v1/spaces/{space_id}/posts", user, expect=200)
    return items


async def notifications(pod: Pod, user: User) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", "/api/v1/notifications", user, expect=200)
    return items
