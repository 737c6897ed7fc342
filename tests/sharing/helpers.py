"""Small helpers shared by the sharing, labels, notifications and follow-grant tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from node.appkeys import SERVICES
from node.clock import iso
from node.services.principal import SCOPES
from tests.support import Pod, User

SHARING = "/api/v1/sharing"


async def label(pod: Pod, user: User, name: str) -> str:
    _, out = await pod.call("POST", "/api/v1/labels", user, json={"name": name}, expect=201)
    return out["id"]


async def post(
    pod: Pod,
    user: User,
    body: str,
    visibility: str = "followers",
    labels: list[str] | None = None,
    to: list[str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"body": body, "visibility": visibility, "labelIds": labels or []}
    if to:
        payload["recipients"] = to
    _, out = await pod.call("POST", "/api/v1/posts", user, json=payload, expect=201)
    return out


async def share(
    pod: Pod, user: User, shared_with: User | str, expect: int | None = 201, **fields: Any
) -> dict[str, Any]:
    """POST /sharing; `shared_with` is a user (their identity GUID) or a handle."""
    target = shared_with if isinstance(shared_with, str) else shared_with.identity_id
    fields.setdefault("scope", "all")
    _, out = await pod.call(
        "POST", SHARING, user, json={"shared_with": target, **fields}, expect=expect
    )
    return out


async def status(pod: Pod, method: str, path: str, user: User | None, **kw: Any) -> int:
    resp, _ = await pod.call(method, path, user, **kw)
    return resp.status


async def can_read(pod: Pod, user: User, guid: str) -> bool:
    code = await status(pod, "GET", f"/api/v1/posts/{guid}", user)
    assert code in (200, 404), code
    return code == 200


async def author_stream(pod: Pod, viewer: User, author: User) -> list[str]:
    _, items = await pod.call(
        "GET",
        f"/api/v1/identities/{author.identity_id}/posts",
        viewer,
        params={"per_page": "100"},
        expect=200,
    )
    return [p["id"] for p in items]


async def notifications(pod: Pod, user: User, **params: str) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", "/api/v1/notifications", user, params=params, expect=200)
    return items


async def badge(pod: Pod, user: User) -> int:
    _, out = await pod.call("GET", "/api/v1/notifications/badge", user, expect=200)
    return out["unread"]


async def app_user(pod: Pod, user: User, scopes: set[str] | None = None) -> User:
    """The same identity through an app token (every scope unless told), not a login session."""
    token, _ = await pod.app[SERVICES].sessions.create_app_token(
        user.account_id, user.identity_id, "test app", frozenset(scopes or SCOPES), None
    )
    return User(user.username, token, user.account_id, user.identity_id, user.password)


def later(pod: Pod, **delta: float) -> str:
    """A timestamp `delta` after the pod's (manual) now, in the API's format."""
    return iso(pod.clock.now() + timedelta(**delta))
