"""Request parsing and response writing shared by every handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from node.appkeys import CONFIG
from node.errors import ApiError, bad_request, request_timeout
from node.store.paging import Page

from .pagination import link_header

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class RawJson(bytes):
    """JSON already rendered and encoded (see post_json.py): written out as it is."""


def _dump(data: Any) -> str:
    if isinstance(data, BaseModel):
        return data.model_dump_json(by_alias=True)
    if isinstance(data, list):
        return "[" + ",".join(_dump(item) for item in data) + "]"
    return json.dumps(data, separators=(",", ":"))


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    if isinstance(data, RawJson):
        return web.Response(
            body=data, status=status, content_type="application/json", charset="utf-8",
            headers=headers,
        )  # fmt: skip
    return web.Response(
        text=_dump(data), status=status, content_type="application/json", headers=headers
    )


def page_response(
    request: web.Request, items: list[Any] | RawJson, page: Page, per_page: int
) -> web.Response:
    return json_response(items, headers={"Link": link_header(request, page, per_page)})


def header_text(request: web.Request, name: str) -> str:
    """A header's value as text fit to store and show: aiohttp keeps bytes that are not UTF-8 as
    lone surrogates, which SQLite and every encoder refuse; they become U+FFFD here."""
    value = request.headers.get(name, "")
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def validation_error(exc: ValidationError) -> ApiError:
    fields: dict[str, str] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(key, err["msg"].removeprefix("Value error, "))
    return ApiError(422, "validation_failed", "The request body is not valid.", fields=fields)


@asynccontextmanager
async def body_deadline(seconds: float) -> AsyncIterator[None]:
    """Bound a wait for a request's body (408 past it): a client that sends less than its
    Content-Length says would otherwise hold the connection and the handler until it gave up."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise request_timeout() from None


async def read_body(request: web.Request, read: Awaitable[T]) -> T:
    """`read` (of `request`'s body), bounded by the body read time unless the body has all
    arrived already, as a small one usually has with its headers: nothing can stall then, and
    the busiest requests (the inbox's) skip the timer."""
    if request.content.is_eof():
        return await read
    async with body_deadline(request.app[CONFIG].server.body_read_timeout_seconds):
        return await read


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """A streamed body as it arrives, with no wait for its next bytes longer than the
    configured body read time (a large upload may take long in all, but not stall)."""
    seconds = request.app[CONFIG].server.body_read_timeout_seconds
    chunks = request.content.iter_any()
    while True:
        async with body_deadline(seconds):
            chunk = await anext(chunks, None)
        if chunk is None:
            return
        yield chunk


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse a JSON body into `model`: 415 not JSON, 408 too slow, 400 malformed, 422 invalid."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    limit = request.client_max_size
    if request.content_length is not None and request.content_length > limit:
        # Told now, not once the limit's worth has arrived (or after the body read time).
        raise ApiError(413, "payload_too_large", f"Request bodies are limited to {limit} bytes.")
    raw = await read_body(request, request.read())
    try:
        data = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, UnicodeDecodeError and integers beyond Python's
        # digit limit; RecursionError is what deeply nested arrays raise.
        raise bad_request("The body is not valid JSON.", "malformed_json") from None
    if not isinstance(data, dict):
        raise bad_request("The body must be a JSON object.", "malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
