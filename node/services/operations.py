"""Operator work on federation: the delivery queue (status, dead letters, retry) and domain
blocks. Used by the CLI; a running pod reads blocks at start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.clock import Clock, iso
from node.errors import conflict, validation
from node.store import deliveries as delivery_store
from node.store.db import Database
from node.urls import canonical_host, default_port_forms, host_key


@dataclass(frozen=True)
class HostQueue:
    host: str
    pending: int
    running: int
    dead: int
    next_attempt_at: str | None
    paused: bool


@dataclass(frozen=True)
class DeadLetter:
    guid: str
    inbox: str
    activity_type: str
    attempts: int
    last_status: int | None
    last_error: str | None
    updated_at: str


class OperationsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def queue(self) -> list[HostQueue]:
        rows = await delivery_store.queue_by_host(self._db)
        return [
            HostQueue(
                r["host"], r["pending"], r["running"], r["dead"], r["next_at"], bool(r["paused"])
            )
            for r in rows
        ]

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = await delivery_store.dead_letters(self._db, limit)
        return [
            DeadLetter(
                r["guid"],
                r["inbox"],
                r["activity_type"],
                r["attempts"],
                r["last_status"],
                r["last_error"],
                r["updated_at"],
            )
            for r in rows
        ]

    async def retry(self, host: str | None, is_blocked: Callable[[str], bool]) -> int:
        """Make dead and waiting deliveries due now, to `host` (as people type it: any case,
        IDN or ASCII, a trailing dot) or to all; not to a blocked domain, whose deliveries
        would only be given up again."""
        key = block_key(host) if host is not None else None
        if key is not None and is_blocked(key):
            raise conflict(f"{key} is blocked: unblock it first", "blocked")
        # Deliveries keep their inbox URL's host as it is written there (Unicode for an IDN
        # host, a default port only rarely): matched on the form the pod decides on.
        forms = set(default_port_forms(key)) if key is not None else None
        async with self._db.transaction() as tx:
            hosts = [
                h
                for h in await delivery_store.retry_hosts(tx)
                if not is_blocked(h) and (forms is None or host_key(h) in forms)
            ]
            return await delivery_store.retry(tx, iso(self._clock.now()), hosts)

    async def set_block(self, domain: str, blocked: bool) -> tuple[str, bool]:
        """Block or unblock `domain`, a host name or IP address with an optional port; returns
        the host[:port] the pod decides blocks on, which is what is stored, and whether its
        block was stored before."""
        key = block_key(domain)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            # Rows stored before keys were canonical ("evil.org.") are the same block.
            same = {h for h in await delivery_store.blocked_domains(tx) if host_key(h) == key}
            for host in {key} if blocked else same:
                await delivery_store.set_blocked(tx, host, blocked, now)
        return key, bool(same)

    async def blocks(self) -> list[str]:
        """The blocked domains as the pod reads them (rows that name no host block nothing)."""
        return sorted({host_key(h) for h in await delivery_store.blocked_domains(self._db)} - {""})


def block_key(domain: str) -> str:
    """The host[:port] of a host name or IP address with an optional port, in the one form
    blocks are decided on (node.urls.host_port): ASCII, lower case, no trailing dot. Anything
    else (a URL, user info, a path, spaces) is refused rather than read as some other host."""
    key = canonical_host(domain)
    if key is None:
        raise validation({"domain": "a host name such as example.org, with an optional :port"})
    return key
