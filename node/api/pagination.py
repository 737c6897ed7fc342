"""Opaque cursors and Link headers over the keyset pages of node.store.paging."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import quote, urlencode

from aiohttp import web
from yarl import URL

from node.appkeys import CONFIG
from node.errors import bad_request
from node.store.paging import Page, PageRequest

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
_DIRS = {"a": "after", "b": "before", "l": "last"}
_CODES = {v: k for k, v in _DIRS.items()}


def encode_cursor(direction: str, key: tuple[str, str] | None) -> str:
    # json.dumps with its defaults takes the C encoder's fast path (this runs twice a page).
    raw = json.dumps([_CODES[direction], *(key or ())]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# A cursor holds a direction, a time and a guid: far less than this.
MAX_CURSOR = 512


def decode_cursor(token: str) -> tuple[str, tuple[str, str] | None]:
    try:
        if len(token) > MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if not isinstance(data, list) or not data:
            raise ValueError
        direction = _DIRS[data[0]]
        if direction == "last":
            if len(data) != 1:
                raise ValueError
            return direction, None
        _, ka, kb = data
        if not isinstance(ka, str) or not isinstance(kb, str):
            raise ValueError
        # JSON escapes may spell lone surrogates, which SQLite cannot bind (UnicodeEncodeError
        # is a ValueError).
        ka.encode()
        kb.encode()
        return direction, (ka, kb)
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        RecursionError,  # deeply nested JSON
        binascii.Error,
        json.JSONDecodeError,
    ):
        raise bad_request(
            "The cursor is not valid; follow the Link header.", "invalid_cursor"
        ) from None


MAX_OFFSET = 100_000


def _int_arg(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer.", f"invalid_{name}") from None
    if not low <= value <= high:
        raise bad_request(f"{name} must be from {low} to {high}.", f"invalid_{name}")
    return value


def offset_page_request(request: web.Request) -> PageRequest:
    """`limit`/`offset` paging (as the sharing seed has it); `per_page`/`cursor` work too."""
    offset = _int_arg(request, "offset", 0, MAX_OFFSET)
    limit = _int_arg(request, "limit", 1, 10**9)
    if offset is None and limit is None:
        return page_request(request)
    limit = min(limit or DEFAULT_PER_PAGE, MAX_PER_PAGE)
    return PageRequest(limit, offset=offset or 0)


def offset_link_header(request: web.Request, page: Page, req: PageRequest, total: int) -> str:
    origin = URL(request.app[CONFIG].server.public_url)
    base = origin.with_path(request.rel_url.raw_path, encoded=True).with_query(
        {k: v for k, v in request.query.items() if k not in ("offset", "limit")}
        | {"limit": str(req.limit)}
    )
    offset = req.offset or 0
    links = [f'<{base.update_query(offset="0")}>; rel="first"']
    if offset > 0:
        links.append(
            f'<{base.update_query(offset=str(max(0, offset - req.limit)))}>; rel="previous"'
        )
    if page.has_next:
        links.append(f'<{base.update_query(offset=str(offset + req.limit))}>; rel="next"')
    last = max(0, (total - 1) // req.limit * req.limit)
    links.append(f'<{base.update_query(offset=str(last))}>; rel="last"')
    return ", ".join(links)


def page_request(request: web.Request) -> PageRequest:
    raw = request.query.get("per_page")
    limit = DEFAULT_PER_PAGE
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request("per_page must be an integer.", "invalid_per_page") from None
        if limit < 1:
            raise bad_request("per_page must be at least 1.", "invalid_per_page")
        limit = min(limit, MAX_PER_PAGE)
    cursor = request.query.get("cursor")
    if not cursor:
        return PageRequest(limit)
    direction, key = decode_cursor(cursor)
    return PageRequest(limit, direction, key)  # type: ignore[arg-type]


def link_header(request: web.Request, page: Page, per_page: int) -> str:
    """first / previous / next / last, where they exist; every other query arg is kept.

    Links are built on the configured public URL, not on the request's Host and scheme: behind
    a reverse proxy those are the proxy's view (or whatever the client sent).
    """
    query = [(k, v) for k, v in request.query.items() if k not in ("cursor", "per_page")]
    # Most lists carry no other argument; per_page is digits and needs no encoding.
    encoded = f"{urlencode(query, quote_via=quote)}&" if query else ""
    first = (
        f"{request.app[CONFIG].server.public_url}{request.rel_url.raw_path}"
        f"?{encoded}per_page={per_page}"
    )

    def link(rel: str, cursor: str | None) -> str:
        # A cursor is URL-safe base64 and `base` always has a query (per_page).
        url = first if cursor is None else f"{first}&cursor={cursor}"
        return f'<{url}>; rel="{rel}"'

    links = [link("first", None)]
    if page.has_prev and page.rows:
        links.append(link("previous", encode_cursor("before", page.first_key())))
    if page.has_next and page.rows:
        links.append(link("next", encode_cursor("after", page.last_key())))
    if page.has_next or page.has_prev:
        links.append(link("last", encode_cursor("last", None)))
    return ", ".join(links)
