"""Keyset pagination in SQL: newest first by a (time, guid) key; never offsets.

A page is asked for relative to a key: `after` (older than it: the next page), `before` (newer:
the previous page), or `last` (the oldest page). Inserts between requests never shift a page,
because each page is bounded by a key, not by a count of rows before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from node.store.db import Queryable, Row

Direction = Literal["first", "after", "before", "last"]


@dataclass(frozen=True)
class PageRequest:
    limit: int = 20
    direction: Direction = "first"
    key: tuple[str, str] | None = None
    # Offset paging exists only for the sharing lists, whose seed API speaks limit/offset.
    offset: int | None = None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    has_prev: bool
    has_next: bool

    def first_key(self) -> tuple[str, str] | None:
        return (self.rows[0]["_ka"], self.rows[0]["_kb"]) if self.rows else None

    def last_key(self) -> tuple[str, str] | None:
        return (self.rows[-1]["_ka"], self.rows[-1]["_kb"]) if self.rows else None


async def fetch_page(
    q: Queryable,
    *,
    select: str,
    select_params: Sequence[Any] = (),
    from_where: str,
    params: Sequence[Any],
    key: tuple[str, str],
    page: PageRequest,
) -> Page:
    """`select` is the column list, `from_where` is `FROM ... WHERE ...` (use `1` for no filter).

    `key` names the two sort columns (a time and a unique guid); rows carry them as `_ka`/`_kb`.
    `select_params` fill the `?` in `select`, `params` those in `from_where`.
    """
    ka, kb = key
    base = f"SELECT {select}, {ka} AS _ka, {kb} AS _kb {from_where}"
    args = [*select_params, *params]
    n = page.limit + 1
    desc = f"ORDER BY {ka} DESC, {kb} DESC LIMIT {n}"
    asc = f"ORDER BY {ka} ASC, {kb} ASC LIMIT {n}"
    if page.offset is not None:
        rows = await q.fetchall(f"{base} {desc} OFFSET {int(page.offset)}", args)
        return Page(rows[: page.limit], page.offset > 0, len(rows) > page.limit)
    if page.direction == "after" and page.key:
        rows = await q.fetchall(f"{base} AND ({ka}, {kb}) < (?, ?) {desc}", [*args, *page.key])
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        has_prev = await _exists(q, from_where, params, f"({ka}, {kb}) >= (?, ?)", page.key)
        return Page(rows, has_prev, more)
    if page.direction == "before" and page.key:
        rows = await q.fetchall(f"{base} AND ({ka}, {kb}) > (?, ?) {asc}", [*args, *page.key])
        more = len(rows) > page.limit
        rows = list(reversed(rows[: page.limit]))
        has_next = await _exists(q, from_where, params, f"({ka}, {kb}) <= (?, ?)", page.key)
        return Page(rows, more, has_next)
    if page.direction == "last":
        rows = await q.fetchall(f"{base} {asc}", args)
        more = len(rows) > page.limit
        return Page(list(reversed(rows[: page.limit])), more, False)
    rows = await q.fetchall(f"{base} {desc}", args)
    more = len(rows) > page.limit
    return Page(rows[: page.limit], False, more)


async def _exists(
    q: Queryable, from_where: str, params: Sequence[Any], cond: str, key: tuple[str, str]
) -> bool:
    return bool(
        await q.fetchval(f"SELECT EXISTS (SELECT 1 {from_where} AND {cond})", [*params, *key])
    )
