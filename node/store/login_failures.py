"""Failed password checks by key (a pair of account and address, or an address) and time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from node.store.db import Queryable, Tx

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


async def nth_latest(q: Queryable, key: str, since: datetime, n: int) -> datetime | None:
    """When the `n`th latest failure of `key` later than `since` was; None if there are fewer.

    Once it leaves the window, fewer than `n` remain in it."""
    at = await q.fetchval(
        "SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
        (key, _micros(since), n - 1),
    )
    return None if at is None else _EPOCH + at * _MICROSECOND


async def add(tx: Tx, keys: Iterable[str], at: datetime) -> None:
    when = _micros(at)
    await tx.executemany(
        "INSERT INTO login_failures (key, at) VALUES (?, ?)", ((key, when) for key in keys)
    )


async def remove_one(tx: Tx, key: str, at: datetime) -> None:
    """Take back one failure of `key` counted at `at`, if there is one."""
    await tx.execute(
        "DELETE FROM login_failures WHERE rowid ="
        " (SELECT rowid FROM login_failures WHERE key = ? AND at = ? LIMIT 1)",
        (key, _micros(at)),
    )


async def clear(tx: Tx, key: str) -> None:
    await tx.execute("DELETE FROM login_failures WHERE key = ?", (key,))


async def forget_until(tx: Tx, until: datetime) -> None:
    """Delete the failures at or before `until`."""
    await tx.execute("DELETE FROM login_failures WHERE at <= ?", (_micros(until),))
