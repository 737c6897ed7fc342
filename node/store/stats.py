"""Counts for the pod's usage statistics (NodeInfo)."""

from __future__ import annotations

from dataclasses import dataclass

from node.store.db import Queryable


@dataclass(frozen=True)
class UsageCounts:
    accounts: int
    active_month: int
    active_halfyear: int
    local_posts: int
    local_comments: int


async def usage_counts(q: Queryable, month_since: str, halfyear_since: str) -> UsageCounts:
    """One statement, so that all counts come from the same snapshot.

    `*_since` are ISO timestamps (they sort as text); accounts are always local.
    """
    row = await q.fetchone(
        "SELECT"
        " (SELECT count(*) FROM accounts),"
        " (SELECT count(*) FROM accounts WHERE last_active_at >= ?),"
        " (SELECT count(*) FROM accounts WHERE last_active_at >= ?),"
        " (SELECT count(*) FROM posts WHERE local = 1 AND in_reply_to_ap_id IS NULL),"
        " (SELECT count(*) FROM posts WHERE local = 1 AND in_reply_to_ap_id IS NOT NULL)",
        (month_since, halfyear_since),
    )
    assert row is not None  # a SELECT without FROM always yields one row
    return UsageCounts(*(int(v) for v in row))
