"""/api/v1/system: version and health."""

from __future__ import annotations

from importlib.metadata import version

from node.appkeys import DB
from tests.support import Pod


async def test_version(pod: Pod) -> None:
    resp, data = await pod.call("GET", "/api/v1/system/version", expect=200)
    assert resp.content_type == "application/json"
    assert data == {"software": "hearth", "version": version("hearth"), "apiVersions": ["v1"]}
    _, same = await pod.call("GET", "/api/v1/system/version.json", expect=200)
    assert same == data


async def test_version_ignores_tokens_but_not_methods(pod: Pod) -> None:
    # A public route: a bad token does not matter.
    headers = {"Authorization": "Bearer nonsense"}
    await pod.call("GET", "/api/v1/system/version", headers=headers, expect=200)
    resp, data = await pod.call("POST", "/api/v1/system/version", json={}, expect=405)
    assert data["error"] == "method_not_allowed" and "GET" in resp.headers["Allow"]
    await pod.call("DELETE", "/api/v1/system/health", expect=405)


async def test_head_answers_as_get_without_a_body(pod: Pod) -> None:
    alice = await pod.register("alice")
    for path in ("/api/v1/system/version", "/api/v1/system/health.json"):
        resp, data = await pod.call("HEAD", path, expect=200)
        assert resp.content_type == "application/json" and data is None
    resp, _ = await pod.call("HEAD", "/api/v1/identity/current", alice, expect=200)
    assert int(resp.headers["Content-Length"]) > 0
    resp, _ = await pod.call("HEAD", "/api/v1/identity/current", expect=401)
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    await pod.call("HEAD", "/api/v1/identities?per_page=1", alice, expect=200)
    resp, _ = await pod.call("DELETE", "/api/v1/system/version", expect=405)
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    # A route without GET has no HEAD either.
    resp, _ = await pod.call("HEAD", "/api/v1/notifications/read", alice, expect=405)
    assert resp.headers["Allow"] == "POST"


async def test_health_ok(pod: Pod) -> None:
    resp, data = await pod.call("GET", "/api/v1/system/health", expect=200)
    assert resp.content_type == "application/json"
    assert data["status"] == "ok" and data["database"] == "ok"
    assert isinstance(data["queueDepth"], int) and data["queueDepth"] >= 0
    _, same = await pod.call("GET", "/api/v1/system/health.json", expect=200)
    assert same["status"] == "ok"


async def test_health_is_503_when_the_database_is_unreachable(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.app[DB].close()
    resp, data = await pod.call("GET", "/api/v1/system/health", expect=503)
    assert resp.content_type == "application/json"
    assert data == {"status": "unavailable", "database": "unreachable", "queueDepth": None}
    # Version does not need the database.
    await pod.call("GET", "/api/v1/system/version", expect=200)
    # Routes that need it fail with the error shape, not a traceback.
    resp, data = await pod.call("GET", "/api/v1/identity/current", alice, expect=503)
    assert data["error"] == "unavailable"
    assert set(data) == {"code", "error", "message"} and data["code"] == 503
    assert "Traceback" not in data["message"]


async def test_health_refuses_non_json(pod: Pod) -> None:
    _, data = await pod.call(
        "GET", "/api/v1/system/health", headers={"Accept": "text/html"}, expect=406
    )
    assert data["error"] == "not_acceptable"
