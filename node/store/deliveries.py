"""The outbox and its durable delivery queue, and per-domain delivery health."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from node.ids import new_guid
from node.store.db import Queryable, Row, Tx


@dataclass(frozen=True)
class Claimed:
    guid: str
    inbox: str
    host: str
    attempts: int
    body: str
    actor_uri: str

    @classmethod
    def of(cls, row: Row) -> Claimed:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


async def enqueue(
    tx: Tx,
    ap_id: str,
    actor_uri: str,
    activity_type: str,
    body: str,
    inboxes: list[tuple[str, str]],
    now: str,
) -> int:
    """Store an activity once and one pending delivery per distinct (inbox, host)."""
    outbox_guid = new_guid()
    await tx.execute(
        "INSERT INTO outbox (guid, ap_id, actor_uri, activity_type, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (outbox_guid, ap_id, actor_uri, activity_type, body, now),
    )
    seen: set[str] = set()
    rows = []
    for inbox, host in inboxes:
        if inbox in seen:
            continue
        seen.add(inbox)
        rows.append((new_guid(), outbox_guid, inbox, host, now, now, now))
    await tx.executemany(
        "INSERT INTO deliveries (guid, outbox_guid, inbox, host, state, next_attempt_at,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
        rows,
    )
    return len(rows)


async def was_queued(q: Queryable, ap_id: str) -> bool:
    """Whether an activity of ours with this id was queued for some inbox."""
    return bool(await q.fetchval("SELECT 1 FROM outbox WHERE ap_id = ?", (ap_id,)))


async def give_up_paused(tx: Tx, queued_before: str, reason: str, now: str, batch: int) -> int:
    """Give up up to `batch` deliveries queued before `queued_before` and still waiting for
    their domain, paused since (a host that keeps failing is retried for about three days)."""
    return await tx.execute(
        "UPDATE deliveries SET state = 'dead', last_error = ?, next_attempt_at = ?,"
        " updated_at = ? WHERE guid IN (SELECT guid FROM deliveries WHERE state = 'pending'"
        " AND created_at < ? AND host IN (SELECT host FROM domains WHERE paused = 1) LIMIT ?)",
        (reason, now, now, queued_before, batch),
    )


async def forget_finished(tx: Tx, state: str, before: str, batch: int) -> int:
    """Forget up to `batch` deliveries in `state` ('delivered' or 'dead') finished before
    `before`: a finished try sets its next attempt to when it finished, so the queue's own
    index finds them."""
    return await tx.execute(
        "DELETE FROM deliveries WHERE guid IN (SELECT guid FROM deliveries"
        " WHERE state = ? AND next_attempt_at < ? AND updated_at < ? LIMIT ?)",
        (state, before, before, batch),
    )


async def forget_sent(tx: Tx, before_guid: str, keep_suffix: str, batch: int) -> int:
    """Forget up to `batch` of our activities made before `before_guid` (guids begin with
    their time) that no delivery needs any more, but for Announces whose id ends in
    `keep_suffix` (`was_queued` is asked of those long after)."""
    return await tx.execute(
        "DELETE FROM outbox WHERE guid IN (SELECT o.guid FROM outbox o WHERE o.guid < ?"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_guid = o.guid)"
        " AND NOT (o.activity_type = 'Announce' AND o.ap_id LIKE '%' || ?)"
        " ORDER BY o.guid LIMIT ?)",
        (before_guid, keep_suffix, batch),
    )


async def forget_actor(tx: Tx, actor_uri: str) -> int:
    """Drop everything an actor sent or was to send: its activities and their deliveries,
    whatever their state. A delivery in flight finishes, and its outcome updates nothing."""
    return await tx.execute("DELETE FROM outbox WHERE actor_uri = ?", (actor_uri,))


async def claim(
    tx: Tx,
    now: str,
    lease_until: str,
    limit: int,
    skip_hosts: list[str],
    held: Collection[str] = (),
) -> list[Claimed]:
    """Take due deliveries of hosts not paused, and running ones whose lease ran out (after a
    crash) but those in `held`: the caller is still delivering them, however long it took.
    Blocked domains are the worker's to recognise: it gives their deliveries up."""
    skip = ",".join("?" * len(skip_hosts))
    host_filter = f" AND host NOT IN ({skip})" if skip_hosts else ""
    host_filter += " AND host NOT IN (SELECT host FROM domains WHERE paused = 1)"
    # Two queries, not one with OR: SQLite would read every due row of both kinds and sort
    # them before the LIMIT, a cost that grows with the queue on every claim. Apart, the
    # expired leases are the few running rows, and the pending ones are read in the index's
    # order, stopping at the LIMIT.
    rows = await tx.fetchall(
        "SELECT guid FROM deliveries WHERE state = 'running' AND lease_until <= ?"
        f" AND guid NOT IN (SELECT value FROM json_each(?)){host_filter}"
        " ORDER BY next_attempt_at LIMIT ?",
        (now, json.dumps(list(held)), *skip_hosts, limit),
    )
    if len(rows) < limit:
        rows += await tx.fetchall(
            "SELECT guid FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
            f"{host_filter} ORDER BY next_attempt_at LIMIT ?",
            (now, *skip_hosts, limit - len(rows)),
        )
    if not rows:
        return []
    guids = [r[0] for r in rows]
    marks = ",".join("?" * len(guids))
    await tx.execute(
        f"UPDATE deliveries SET state = 'running', lease_until = ?, updated_at = ?"
        f" WHERE guid IN ({marks})",
        (lease_until, now, *guids),
    )
    claimed = await tx.fetchall(
        "SELECT d.guid, d.inbox, d.host, d.attempts, o.body, o.actor_uri FROM deliveries d"
        f" JOIN outbox o ON o.guid = d.outbox_guid WHERE d.guid IN ({marks})",
        guids,
    )
    return [Claimed.of(r) for r in claimed]


async def release_leases(tx: Tx, now: str) -> int:
    """Make every 'running' delivery pending (due when it was): at start, the process that
    claimed them is gone, whatever their leases say."""
    return await tx.execute(
        "UPDATE deliveries SET state = 'pending', lease_until = NULL, updated_at = ?"
        " WHERE state = 'running'",
        (now,),
    )


async def finish_many(
    tx: Tx, rows: list[tuple[str, int, int | None, str | None, str, str, str]]
) -> None:
    """(state, attempts, status, error, next attempt, now, guid) for each finished try."""
    await tx.executemany(
        "UPDATE deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?,"
        " next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE guid = ?",
        rows,
    )


async def hold_host(tx: Tx, host: str, until: str, now: str) -> None:
    """Nothing pending for `host` is due before `until` (it asked us to wait)."""
    await tx.execute(
        "UPDATE deliveries SET next_attempt_at = ?, updated_at = ?"
        " WHERE host = ? AND state = 'pending' AND next_attempt_at < ?",
        (until, now, host, until),
    )


async def next_due(q: Queryable) -> str | None:
    return await q.fetchval(
        "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'"
        " AND host NOT IN (SELECT host FROM domains WHERE paused = 1)"
    )


async def host_success(tx: Tx, host: str, now: str) -> None:
    await tx.execute(
        "INSERT INTO domains (host, last_success_at, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (host) DO UPDATE SET failing_since = NULL, paused = 0,"
        " last_success_at = excluded.last_success_at, updated_at = excluded.updated_at",
        (host, now, now),
    )


async def host_failure(tx: Tx, host: str, now: str, pause_before: str) -> bool:
    """Record a failed try; pause the host when it has failed since before `pause_before`."""
    await tx.execute(
        "INSERT INTO domains (host, failing_since, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (host) DO UPDATE"
        " SET failing_since = coalesce(failing_since, excluded.failing_since),"
        " updated_at = excluded.updated_at",
        (host, now, now),
    )
    changed = await tx.execute(
        "UPDATE domains SET paused = 1 WHERE host = ? AND paused = 0 AND failing_since <= ?",
        (host, pause_before),
    )
    return changed > 0


async def paused_hosts(q: Queryable) -> set[str]:
    rows = await q.fetchall("SELECT host FROM domains WHERE paused = 1")
    return {r[0] for r in rows}


async def probe_paused(tx: Tx, paused_before: str, now: str) -> list[str]:
    """Unpause the hosts paused since before `paused_before`, for one more try: failing since
    before then, a failure pauses them again at once. Their hosts."""
    rows = await tx.fetchall(
        "SELECT host FROM domains WHERE paused = 1 AND updated_at < ?", (paused_before,)
    )
    await tx.executemany(
        "UPDATE domains SET paused = 0, updated_at = ? WHERE host = ?", [(now, r[0]) for r in rows]
    )
    return [r[0] for r in rows]


async def resume_host(tx: Tx, host: str, now: str) -> bool:
    """A paused host was heard from: resume it and make its deliveries due now."""
    changed = await tx.execute(
        "UPDATE domains SET paused = 0, failing_since = NULL, updated_at = ?"
        " WHERE host = ? AND paused = 1",
        (now, host),
    )
    if changed:
        await tx.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE host = ? AND state = 'pending'",
            (now, host),
        )
    return changed > 0


async def queue_by_host(q: Queryable) -> list[Row]:
    return await q.fetchall(
        "SELECT d.host, sum(d.state = 'pending') AS pending, sum(d.state = 'running') AS running,"
        " sum(d.state = 'dead') AS dead, min(CASE WHEN d.state = 'pending' THEN"
        " d.next_attempt_at END) AS next_at, coalesce(max(m.paused), 0) AS paused"
        " FROM deliveries d LEFT JOIN domains m ON m.host = d.host"
        " WHERE d.state != 'delivered' GROUP BY d.host ORDER BY d.host"
    )


async def dead_letters(q: Queryable, limit: int = 100) -> list[Row]:
    return await q.fetchall(
        "SELECT d.guid, d.inbox, d.attempts, d.last_status, d.last_error, d.updated_at,"
        " o.activity_type FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
        " WHERE d.state = 'dead' ORDER BY d.updated_at DESC LIMIT ?",
        (limit,),
    )


async def retry_hosts(q: Queryable) -> list[str]:
    """The hosts `retry` has something to do for: of dead or waiting deliveries, or paused."""
    rows = await q.fetchall(
        "SELECT DISTINCT host FROM deliveries WHERE state IN ('dead', 'pending')"
        " UNION SELECT host FROM domains WHERE paused = 1"
    )
    return [r[0] for r in rows]


async def retry(tx: Tx, now: str, hosts: list[str] | None = None) -> int:
    """Make dead (and waiting) deliveries due now, optionally for some hosts; unpause hosts.
    The dead start their tries afresh: one that had run out of them would otherwise be given
    up again at its first failure."""
    if hosts is not None and not hosts:
        return 0
    where, args = (
        ("AND host IN (SELECT value FROM json_each(?))", (json.dumps(hosts),))
        if hosts is not None
        else ("", ())
    )
    changed = await tx.execute(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ?,"
        " attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END"
        f" WHERE state IN ('dead', 'pending') {where}",
        (now, now, *args),
    )
    await tx.execute(f"UPDATE domains SET paused = 0, failing_since = NULL WHERE 1 {where}", args)
    return changed


async def counts_by_state(q: Queryable) -> dict[str, int]:
    """Deliveries not yet delivered, per state (the delivered are not counted: the most)."""
    rows = await q.fetchall(
        "SELECT state, count(*) FROM deliveries WHERE state IN ('pending', 'running', 'dead')"
        " GROUP BY state"
    )
    return {row[0]: int(row[1]) for row in rows}


async def depth(q: Queryable) -> int:
    return int(
        await q.fetchval("SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running')")
    )


async def mark_seen(tx: Tx, ap_id: str, now: str) -> bool:
    """Record an incoming activity id; False when it was seen before (a duplicate)."""
    return await tx.execute("INSERT OR IGNORE INTO inbox_seen VALUES (?, ?)", (ap_id, now)) > 0


async def was_seen(q: Queryable, ap_id: str) -> bool:
    """Whether an incoming activity id was taken before (read before costly work, such as a
    fetch, that a duplicate would otherwise repeat)."""
    return bool(await q.fetchval("SELECT 1 FROM inbox_seen WHERE ap_id = ?", (ap_id,)))


async def first_seen_since(q: Queryable, since: str) -> int | None:
    """Where the ids received at or after `since` start. Ids are numbered (rowid) in the order
    they arrive, so the scan reads only the older ones, which are about to go."""
    return await q.fetchval(
        "SELECT rowid FROM inbox_seen WHERE received_at >= ? ORDER BY rowid LIMIT 1", (since,)
    )


async def forget_seen(tx: Tx, first_kept: int | None, before: str, batch: int) -> int:
    """Forget up to `batch` of the oldest ids numbered before `first_kept` (None: no bound)
    and received before `before`: ids that arrive while pruning goes on are never touched."""
    return await tx.execute(
        "DELETE FROM inbox_seen WHERE rowid < ? AND received_at < ?"
        " AND rowid < (SELECT min(rowid) FROM inbox_seen) + ?",
        (first_kept if first_kept is not None else 2**63 - 1, before, batch),
    )


async def blocked_domains(q: Queryable) -> set[str]:
    rows = await q.fetchall("SELECT host FROM domains WHERE blocked = 1")
    return {r[0] for r in rows}


async def set_blocked(tx: Tx, host: str, blocked: bool, now: str) -> None:
    await tx.execute(
        "INSERT INTO domains (host, blocked, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (host) DO UPDATE SET blocked = excluded.blocked,"
        " updated_at = excluded.updated_at",
        (host, int(blocked), now),
    )
