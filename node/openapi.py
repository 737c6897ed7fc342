"""The OpenAPI 3.1 document, built from the route table and the pydantic models (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import TypeAdapter

from node.api.routing import API_PREFIX, Route
from node.models.base import ErrorBody

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_SCHEMA = "Error"

# aiohttp path variables may carry a regex (`{name:\d+}`); OpenAPI wants plain `{name}`.
_PATH_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")

_ERROR_TEXT = {
    400: "Bad request.",
    401: "Not authenticated: a valid bearer token is required.",
    403: "Not allowed.",
    404: "Missing, or not visible to you.",
    406: "The Accept header does not allow application/json.",
    408: "The request body did not arrive within `server.body_read_timeout_seconds`.",
    409: "Conflicts with an existing resource.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "Validation failed; `fields` maps each offending field to a reason.",
    429: "Rate limited; retry after the number of seconds in `Retry-After`.",
    500: "Internal error.",
    503: "Service unavailable.",
}

_SUCCESS_TEXT = {200: "OK.", 201: "Created.", 202: "Accepted.", 204: "No content."}

Mode = Literal["validation", "serialization"]


def build_openapi(
    routes: list[Route], *, title: str, version: str, server_url: str
) -> dict[str, Any]:
    """An OpenAPI 3.1.0 document describing `routes` (paths are prefixed with /api/v1)."""
    body_schemas, resp_schemas, schemas = _schemas(routes)
    op_ids = _operation_ids(routes)
    paths: dict[str, dict[str, Any]] = {}
    for i, route in enumerate(routes):
        path = API_PREFIX + _PATH_VAR.sub(r"{\1}", route.path)
        method = route.method.lower()
        item = paths.setdefault(path, {})
        if method in item:
            raise ValueError(f"duplicate route {route.method} {path}")
        item[method] = _operation(route, op_ids[i], body_schemas.get(i), resp_schemas.get(i))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                "The pod's local JSON API. Every path also answers with a `.json` suffix. "
                "Errors are `{code, error, message}` plus `fields` for validation failures."
            ),
        },
        "servers": [{"url": server_url.rstrip("/")}],
        "tags": [{"name": tag} for tag in dict.fromkeys(r.tag for r in routes)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "A session token from POST /api/v1/sessions (first-party, every scope) "
                        "or an app token carrying only the scopes it was granted. Posts that "
                        "are not public, bookmarks and labels also need `private:read` to be "
                        "seen (without it they are left out of lists and a single one is 404) "
                        "and `private:modify` to be written, changed or interacted with (403 "
                        "`insufficient_scope`)."
                    ),
                }
            },
        },
    }


def _schemas(
    routes: list[Route],
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], dict[str, Any]]:
    """Body and response schemas per route index, plus every named schema for components.

    One batch generation so that pydantic deduplicates shared models and, where one model's
    validation and serialization schemas differ, names them apart (`-Input`/`-Output`).
    """
    inputs: list[tuple[tuple[int, str], Mode, TypeAdapter[Any]]] = []
    for i, route in enumerate(routes):
        if route.body is not None:
            inputs.append(((i, "body"), "validation", TypeAdapter(route.body)))
        if route.response is not None:
            inputs.append(((i, "response"), "serialization", TypeAdapter(route.response)))
    by_key, top = TypeAdapter.json_schemas(inputs, by_alias=True, ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = dict(top.get("$defs", {}))

    error = ErrorBody.model_json_schema(
        by_alias=True, ref_template=REF_TEMPLATE, mode="serialization"
    )
    for name, schema in error.pop("$defs", {}).items():
        _add_schema(defs, name, schema)
    _add_schema(defs, ERROR_SCHEMA, {**error, "title": ERROR_SCHEMA})

    # Keys come back as ((route index, "body" | "response"), mode).
    bodies = {i: s for ((i, kind), _), s in by_key.items() if kind == "body"}
    responses = {i: s for ((i, kind), _), s in by_key.items() if kind == "response"}
    return bodies, responses, defs


def _add_schema(defs: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if name in defs and defs[name] != schema:
        raise ValueError(f"two different schemas are both named {name!r}")
    defs[name] = schema


def _operation_ids(routes: list[Route]) -> list[str]:
    """`<module>_<handler>` (e.g. `accounts_register`), suffixed where that is not unique."""
    ids: list[str] = []
    seen: set[str] = set()
    for route in routes:
        base = _handler_name(route.handler)
        op_id, n = base, 1
        while op_id in seen:
            n += 1
            op_id = f"{base}_{n}"
        seen.add(op_id)
        ids.append(op_id)
    return ids


def _handler_name(handler: Callable[..., Any]) -> str:
    module = getattr(handler, "__module__", None) or "api"
    name = getattr(handler, "__name__", None) or type(handler).__name__
    short = module.rsplit(".", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{short}_{name}")


def _operation(
    route: Route,
    op_id: str,
    body: dict[str, Any] | None,
    response: dict[str, Any] | None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    notes: list[str] = []
    if route.auth:
        op["security"] = [{"bearer": []}]
        notes.append("Requires a bearer token.")
        if route.scope:
            op["x-scope"] = route.scope
            notes.append(f"The token must carry the `{route.scope}` scope.")
        if route.first_party:
            op["x-first-party"] = True
            notes.append("First-party only: a login session, not an app token.")
    else:
        op["security"] = []  # explicitly public
        notes.append("No authentication.")
    if route.paginated:
        notes.append("Paginated: follow the `Link` header; never build page URLs yourself.")
    op["description"] = " ".join(notes)

    params = _parameters(route)
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": body}},
        }
    op["responses"] = _responses(route, response)
    return op


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "A GUID, or `current` where the route allows it."
            if name == "guid"
            else name,
        }
        for name in _PATH_VAR.findall(route.path)
    ]
    if route.paginated:
        params += [
            {
                "name": "per_page",
                "in": "query",
                "required": False,
                "description": "Items per page (larger values are capped at 100).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Opaque cursor taken from a `Link` header URL.",
                "schema": {"type": "string"},
            },
        ]
    taken = {p["name"] for p in params}
    params += [
        {
            "name": name,
            "in": "query",
            "required": name in route.required_query,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in route.query.items()
        if name not in taken
    ]
    return params


def _responses(route: Route, schema: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in (route.status, *route.also):
        ok: dict[str, Any] = {"description": _SUCCESS_TEXT.get(status, "Success.")}
        if schema is not None and status != 204:
            ok["content"] = {"application/json": {"schema": schema}}
        if route.paginated:
            ok["headers"] = {
                "Link": {
                    "description": "RFC 8288 links to the `first`, `previous`, `next` and "
                    "`last` pages, where they exist.",
                    "schema": {"type": "string"},
                }
            }
        out[str(status)] = ok

    codes = set(route.errors) | {406}
    if route.body is not None:
        # read_json: malformed, too slow to arrive, too large, not JSON, invalid
        codes |= {400, 408, 413, 415, 422}
    if route.paginated:
        codes.add(400)  # a bad per_page or cursor
    if route.auth:
        codes.add(401)
        if route.scope or route.first_party:
            codes.add(403)
    for code in sorted(codes):
        out[str(code)] = _error_response(code)
    return out


def _error_response(code: int) -> dict[str, Any]:
    resp: dict[str, Any] = {
        "description": _ERROR_TEXT.get(code, "Error."),
        "content": {
            "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=ERROR_SCHEMA)}}
        },
    }
    if code == 422:
        # Same Error shape, but `fields` is always present on validation failures.
        resp["content"]["application/json"]["schema"] = {
            "allOf": [{"$ref": REF_TEMPLATE.format(model=ERROR_SCHEMA)}],
            "required": ["fields"],
        }
    if code == 429:
        resp["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    if code == 401:
        resp["headers"] = {
            "WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}
        }
    return resp
