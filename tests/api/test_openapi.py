"""The generated OpenAPI document at /api/v1/openapi.json and the reference page at /api/docs."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from openapi_spec_validator import validate
from pydantic import computed_field

from node.api import all_routes
from node.api.routing import API_PREFIX, Route
from node.models.base import ApiInput, ApiModel
from node.openapi import build_openapi
from tests.spaces.support import make_space
from tests.support import Pod, Trio, User

METHODS = {"get", "post", "put", "patch", "delete"}


async def fetch_doc(pod: Pod) -> dict[str, Any]:
    resp, doc = await pod.call("GET", "/api/v1/openapi.json", expect=200)
    assert resp.content_type == "application/json"
    return doc


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def walk_refs(doc: dict[str, Any], node: Any, seen: set[str]) -> None:
    """Follow every $ref below `node`, transitively, asserting each one resolves."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            walk_refs(doc, resolve(doc, ref), seen)
        for value in node.values():
            walk_refs(doc, value, seen)
    elif isinstance(node, list):
        for value in node:
            walk_refs(doc, value, seen)


def schema_of(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = resolve(doc, schema["$ref"])
    return schema


def operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method]


async def test_document_is_valid_openapi_31(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    assert doc["servers"] == [{"url": pod.url}]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }


async def test_every_route_is_documented_and_its_refs_resolve(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    routes = all_routes()
    documented = {(m, p) for p, item in doc["paths"].items() for m in item if m in METHODS}
    expected = {(r.method.lower(), API_PREFIX + r.path) for r in routes}
    assert documented == expected
    assert all(p.startswith("/api/v1/") and not p.endswith(".json") for p in doc["paths"])

    op_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(op_ids) == len(set(op_ids))

    for route in routes:
        op = operation(doc, route.method.lower(), API_PREFIX + route.path)
        assert op["summary"] == route.summary
        assert op["tags"] == [route.tag]
        assert str(route.status) in op["responses"]
        assert "406" in op["responses"]
        for code in route.errors:
            assert str(code) in op["responses"], (route.path, code)
        if route.auth:
            assert op["security"] == [{"bearer": []}]
            assert "401" in op["responses"]
        else:
            assert op["security"] == []
        if route.scope:
            assert op["x-scope"] == route.scope
            assert route.scope in op["description"]
        if route.scope or route.first_party:
            assert "403" in op["responses"]
        if route.body is not None:
            assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"]
        else:
            assert "requestBody" not in op
        ok = op["responses"][str(route.status)]
        assert ("content" in ok) == (route.response is not None and route.status != 204)
        for name in re.findall(r"\{(\w+)", route.path):
            params = {(p["name"], p["in"]): p for p in op["parameters"]}
            assert params[(name, "path")]["required"] is True
            assert params[(name, "path")]["schema"] == {"type": "string"}
        seen: set[str] = set()
        walk_refs(doc, op, seen)
        if route.body is not None or route.response is not None:
            assert seen, route.path

    # Nothing dangling anywhere, components included.
    walk_refs(doc, doc, set())


async def test_error_responses_share_the_error_schema(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "error", "message"}
    assert "fields" in error["properties"]
    op = operation(doc, "post", "/api/v1/accounts")
    assert op["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    unprocessable = op["responses"]["422"]["content"]["application/json"]["schema"]
    assert unprocessable["allOf"] == [{"$ref": "#/components/schemas/Error"}]
    assert unprocessable["required"] == ["fields"]


async def test_request_body_reflects_the_model(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    op = operation(doc, "post", "/api/v1/accounts")
    assert op["requestBody"]["required"] is True
    body = schema_of(doc, op["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"username", "email", "password"}
    assert "inviteCode" in body["properties"]
    assert "invite_code" not in body["properties"]
    assert body["additionalProperties"] is False  # ApiInput refuses unknown keys
    assert body["properties"]["username"]["maxLength"] == 30

    patch = operation(doc, "patch", "/api/v1/accounts/current")
    patch_body = schema_of(doc, patch["requestBody"]["content"]["application/json"]["schema"])
    assert patch_body["required"] == ["currentPassword"]


async def test_content_warnings_are_described_on_posts(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    create = operation(doc, "post", "/api/v1/posts")
    post_in = schema_of(doc, create["requestBody"]["content"]["application/json"]["schema"])
    assert post_in["properties"]["contentWarning"]["maxLength"] == 500
    assert post_in["properties"]["sensitive"]["type"] == "boolean"
    edit = operation(doc, "patch", "/api/v1/posts/{guid}")
    patch = schema_of(doc, edit["requestBody"]["content"]["application/json"]["schema"])
    assert {"maxLength": 500, "type": "string"} in patch["properties"]["contentWarning"]["anyOf"]
    assert {"type": "boolean"} in patch["properties"]["sensitive"]["anyOf"]
    post_out = schema_of(doc, create["responses"]["201"]["content"]["application/json"]["schema"])
    assert {"contentWarning", "sensitive"} <= set(post_out["required"])
    for name in ("contentWarning", "sensitive"):
        assert post_out["properties"][name]["description"]


async def test_response_schemas_use_camel_case_and_arrays(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    op = operation(doc, "post", "/api/v1/accounts")
    created = schema_of(doc, op["responses"]["201"]["content"]["application/json"]["schema"])
    account = schema_of(doc, created["properties"]["account"])
    assert "primaryIdentityId" in account["properties"]
    assert "createdAt" in account["properties"]

    listing = operation(doc, "get", "/api/v1/sessions")["responses"]["200"]
    schema = listing["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert schema["items"] == {"$ref": "#/components/schemas/SessionOut"}

    revoke = operation(doc, "delete", "/api/v1/sessions/{guid}")
    assert "content" not in revoke["responses"]["204"]


async def test_paginated_routes_have_per_page_cursor_and_link(pod: Pod) -> None:
    doc = await fetch_doc(pod)
    paginated = [r for r in all_routes() if r.paginated]
    assert paginated
    for route in paginated:
        op = operation(doc, route.method.lower(), API_PREFIX + route.path)
        params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        assert params["per_page"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 20,
        }
        assert params["cursor"]["schema"] == {"type": "string"}
        assert "Link" in op["responses"][str(route.status)]["headers"]
    for route in all_routes():
        if not route.paginated:
            op = operation(doc, route.method.lower(), API_PREFIX + route.path)
            assert "per_page" not in {p["name"] for p in op.get("parameters", [])}


async def test_document_is_json_only_and_has_a_suffixless_alias(pod: Pod) -> None:
    await pod.call("GET", "/api/v1/openapi.json", headers={"Accept": "text/html"}, expect=406)
    _, doc = await pod.call("GET", "/api/v1/openapi", expect=200)
    assert doc == await fetch_doc(pod)


async def test_docs_page_is_self_contained_html(pod: Pod) -> None:
    resp, _ = await pod.call("GET", "/api/docs", headers={"Accept": "text/html"}, expect=200)
    assert resp.content_type == "text/html"
    async with pod.request("GET", "/api/docs") as r:
        html = await r.text()
        csp = r.headers["Content-Security-Policy"]
    assert "openapi.json" in html
    assert "op.requestBody.required" in html  # an optional body is shown as optional
    assert "<script" in html
    assert not re.search(r"<script[^>]*\bsrc=", html, re.I)
    assert not re.search(r"<link[^>]*\bhref=[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"@import", html, re.I)
    assert "default-src 'none'" in csp


# --- the pure builder, on made-up routes -------------------------------------------------


class WidgetIn(ApiInput):
    widget_name: str


class WidgetOut(ApiModel):
    widget_name: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shouted(self) -> str:
        return self.widget_name.upper()


class Widget(ApiModel):
    size: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return self.size * 2


async def _widget_handler(request: web.Request) -> web.Response:
    return web.Response()


def test_builder_covers_new_routes_and_keeps_variants_apart() -> None:
    routes = [
        Route(
            "PUT",
            "/widgets/{guid}",
            _widget_handler,
            "Replace a widget",
            "Widgets",
            body=WidgetIn,
            response=WidgetOut,
            query={"dry_run": "Only check."},
            scope="widgets:write",
            first_party=True,
        ),
        # The same model as body and response: its input and output schemas differ.
        Route(
            "POST",
            "/widgets",
            _widget_handler,
            "Echo",
            "Widgets",
            body=Widget,
            response=list[Widget],
            auth=False,
        ),
    ]
    doc = build_openapi(routes, title="T", version="1", server_url="https://pod.example/")
    validate(doc)
    assert doc["servers"] == [{"url": "https://pod.example"}]
    put = doc["paths"]["/api/v1/widgets/{guid}"]["put"]
    assert put["x-scope"] == "widgets:write"
    assert put["x-first-party"] is True
    assert {"operationId"} <= put.keys()
    names = {(p["name"], p["in"]) for p in put["parameters"]}
    assert names == {("guid", "path"), ("dry_run", "query")}

    post = doc["paths"]["/api/v1/widgets"]["post"]
    in_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    out_ref = post["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"]
    assert in_ref != out_ref
    assert "double" not in resolve(doc, in_ref)["properties"]
    assert "double" in resolve(doc, out_ref)["properties"]
    assert put["operationId"] != post["operationId"]
    walk_refs(doc, doc, set())


async def test_every_status_a_route_answers_is_documented(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    doc = await fetch_doc(pod)
    answered: list[tuple[str, str, int]] = []

    async def call(method: str, path: str, template: str, user: User, **kw: Any) -> None:
        resp, _ = await pod.call(method, API_PREFIX + path, user, **kw)
        answered.append((method, template, resp.status))

    follow = {"json": {"target": bob.identity_id}}
    for _ in range(2):  # created, then already there
        await call("POST", "/follows", "/follows", alice, **follow)
        await call("POST", "/tag_followings", "/tag_followings", alice, json={"name": "roses"})
    instant = await make_space(pod, bob)
    asking = await make_space(pod, bob, displayName="Asking", joinMode="application")
    # No body at all: an instant space needs none.
    await call("POST", f"/spaces/{instant['id']}/join", "/spaces/{guid}/join", alice)
    await call("POST", f"/spaces/{asking['id']}/join", "/spaces/{guid}/join", alice, json={})
    # Any body can be too large.
    huge = {"json": {"target": "x" * pod.config.server.max_body_bytes}}
    await call("POST", "/follows", "/follows", alice, **huge)

    statuses = {(m, t): set() for m, t, _ in answered}
    for method, template, status in answered:
        statuses[(method, template)].add(status)
    assert statuses[("POST", "/follows")] == {200, 201, 413}
    assert statuses[("POST", "/tag_followings")] == {200, 201}
    assert statuses[("POST", "/spaces/{guid}/join")] == {200, 202}
    for method, template, status in answered:
        op = operation(doc, method.lower(), API_PREFIX + template)
        assert str(status) in op["responses"], (method, template, status)
        if status < 300:
            assert "content" in op["responses"][str(status)]
    join = operation(doc, "post", API_PREFIX + "/spaces/{guid}/join")
    assert join["requestBody"]["required"] is False
    assert operation(doc, "post", API_PREFIX + "/follows")["requestBody"]["required"] is True


async def test_query_parameters_a_route_needs_are_required(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    doc = await fetch_doc(pod)

    def query(method: str, path: str) -> dict[str, bool]:
        op = operation(doc, method, API_PREFIX + path)
        return {p["name"]: p["required"] for p in op["parameters"] if p["in"] == "query"}

    assert query("get", "/lookup") == {"acct": True}
    for method in ("get", "patch", "delete"):
        assert query(method, "/sharing/{guid}/item") == {"item": True}
    assert query("get", "/notifications")["unread"] is False
    # Without them: refused as documented.
    _, data = await pod.call("GET", API_PREFIX + "/lookup", alice, expect=400)
    assert "400" in operation(doc, "get", API_PREFIX + "/lookup")["responses"]
    assert data["error"] == "missing_acct"
