"""The error middleware (ApiError and aiohttp's HTTP errors → JSON body) and JSON negotiation."""

from __future__ import annotations

import json
import logging
import sqlite3

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from node.api.traffic import Traffic
from node.errors import ApiError, bad_request

log = logging.getLogger("hearth.http")

_REASONS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def error_response(err: ApiError) -> web.Response:
    response = web.Response(
        text=json.dumps(err.body()),
        status=err.status,
        content_type="application/json",
        headers=err.headers,
    )
    if err.status in (408, 413):
        # The body's rest may still come, and would be read (or waited for) before the next
        # request: the connection ends with the answer (RFC 9110 §15.5.9, §15.5.14).
        response.force_close()
    return response


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def error_middleware(traffic: Traffic) -> Middleware:
    """ApiError and aiohttp's HTTP errors become the JSON error body; the status of every
    answer is counted for the metrics here too, this being the outermost layer of ours (one
    layer less on every request than a counter of its own)."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as err:
            response = error_response(err)
        except web.HTTPException as exc:
            if exc.status < 400:
                traffic.count(exc.status)
                raise
            code = _REASONS.get(exc.status, "error")
            message = exc.reason if exc.status != 404 else "Not found."
            headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
            response = error_response(ApiError(exc.status, code, message, headers=headers))
        except web.RequestPayloadError:
            # The body's bytes do not decode as they say (a gzip body that is not gzip, broken
            # chunks): the request is at fault, and nothing was written.
            response = error_response(bad_request("The request body could not be read."))
        except sqlite3.Error:
            # The database is closed, locked past its timeout or unreadable: a service problem.
            log.exception("database error on %s %s", request.method, request.path)
            response = error_response(
                ApiError(503, "unavailable", "The pod cannot reach its database right now.")
            )
        except Exception as exc:
            if isinstance(exc, ConnectionResetError) and _client_gone(request):
                # The client hung up while sending its body: nothing went wrong here, and the
                # answer reaches no one.
                log.info("client went away during %s %s", request.method, request.path)
                response = error_response(bad_request("The connection was closed mid-request."))
            else:
                log.exception("unhandled error on %s %s", request.method, request.path)
                response = error_response(
                    ApiError(500, "internal_error", "Something went wrong on our side.")
                )
        traffic.count(response.status)
        return response

    return errors


# What nearly every client sends, answered without parsing.
_PLAIN_JSON = frozenset(("", "*/*", "application/json"))


def accepts_json(accept: str) -> bool:
    """True for no Accept, */*, application/*, application/json (q > 0)."""
    if accept in _PLAIN_JSON:
        return True
    if not accept.strip():
        return True
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q > 0 and media.lower() in ("*/*", "application/*", "application/json"):
            return True
    return False


@web.middleware
async def json_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/v1/") and not accepts_json(request.headers.get("Accept", "")):
        raise ApiError(406, "not_acceptable", "This API speaks application/json only.")
    return await handler(request)
