"""/api/v1/system: version and health."""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import version

from node.appkeys import DB
from node.clock import iso
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


async def test_metrics_count_without_naming_anyone(pod: Pod) -> None:
    alice = await pod.register("alice")
    resp, first = await pod.call("GET", "/api/v1/system/metrics", expect=200)
    assert resp.content_type == "application/json"
    assert set(first) == {"uptimeSeconds", "requests", "deliveries", "pausedHosts", "databaseBytes"}
    assert first["deliveries"] == {"pending": 0, "running": 0, "dead": 0}
    assert first["pausedHosts"] == 0 and first["databaseBytes"] > 0
    await pod.call("GET", "/api/v1/nothing", expect=404)
    await pod.call("GET", "/api/v1/identity/current", expect=401)
    await pod.call("GET", "/users/alice", expect=200)  # federation routes count too
    _, later = await pod.call("GET", "/api/v1/system/metrics.json", expect=200)
    assert later["requests"]["4xx"] == first["requests"]["4xx"] + 2
    # The first metrics answer is counted once given, the actor's GET too.
    assert later["requests"]["2xx"] >= first["requests"]["2xx"] + 2
    assert later["uptimeSeconds"] >= first["uptimeSeconds"]

    # Queue rows to a remote host: counted by state, the host named nowhere.
    far = iso(pod.clock.now() + timedelta(days=1))
    async with pod.app[DB].transaction() as tx:
        await tx.execute(
            "INSERT INTO outbox VALUES ('o1', 'https://x/a', 'https://x/u', 'Note', '{}', ?)",
            (far,),
        )
        for i, state in enumerate(("pending", "pending", "running", "dead", "delivered")):
            await tx.execute(
                "INSERT INTO deliveries (guid, outbox_guid, inbox, host, state, next_attempt_at,"
                " lease_until, created_at, updated_at) VALUES (?, 'o1', ?, 'secret.example', ?,"
                " ?, ?, ?, ?)",
                (f"d{i}", f"https://secret.example/inbox/{i}", state, far, far, far, far),
            )
        await tx.execute(
            "INSERT INTO domains (host, paused, updated_at) VALUES ('secret.example', 1, ?)",
            (far,),
        )
    # Read at most every ten seconds, whoever asks.
    _, cached = await pod.call("GET", "/api/v1/system/metrics", alice, expect=200)
    assert cached["deliveries"] == first["deliveries"]
    pod.clock.advance(timedelta(seconds=11))
    resp, data = await pod.call("GET", "/api/v1/system/metrics", expect=200)
    assert data["deliveries"] == {"pending": 2, "running": 1, "dead": 1}
    assert data["pausedHosts"] == 1
    text = await resp.text()
    assert "secret.example" not in text and "alice" not in text
