"""Counts failed password attempts in a sliding window, in the database: every process serving
the pod counts against the same limits, and a restart forgets nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.config import AuthConfig
from node.errors import rate_limited
from node.store import login_failures
from node.store.db import Database, Queryable, Tx


@dataclass(frozen=True)
class FailureLimit:
    """At most `max_failures` failures of one key within `window`."""

    max_failures: int
    window: timedelta

    async def retry_after(self, q: Queryable, key: str, now: datetime) -> float:
        """Seconds until fewer than the limit remain in the window (0: under it now)."""
        counted = await login_failures.nth_latest(q, key, now - self.window, self.max_failures)
        return 0.0 if counted is None else (counted + self.window - now).total_seconds()


@dataclass(frozen=True)
class Attempt:
    """A password check under way, counted as failed until it is known to have succeeded."""

    pair: str
    address: str
    at: datetime


class PasswordThrottle:
    """Who may have a password checked now: logins and the checks of the current password.

    Failures count per account and client address, and per client address across all
    logins (a spray of logins from one place). The account is its guid, so its email and
    the usernames of its identities share one allowance; a login that names no account counts
    by the name typed.

    No limit counts an account's failures from every address: a limit that refuses there is
    one anyone can reach to lock the owner out, however high it is set. A guesser spread over
    many addresses is held by each address's own limits, and by the cost of Argon2.

    An attempt counts from the moment it starts: the password is checked on another thread,
    and a burst of concurrent guesses would all pass a limit read before any of them had
    failed. A successful one is taken back and clears its pair's failures; the address keeps
    its other failures, or logging in to an account of one's own would reset them.

    The failures are kept in the database, which the pod's processes share: in one process's
    memory, each process would allow the limit again.
    """

    def __init__(
        self, db: Database, max_failures: int, max_per_address: int, window: timedelta
    ) -> None:
        self._db = db
        self._pairs = FailureLimit(max_failures, window)
        self._addresses = FailureLimit(max_per_address, window)
        self._window = window
        self._swept: datetime | None = None

    @classmethod
    def of(cls, db: Database, auth: AuthConfig) -> PasswordThrottle:
        window = timedelta(seconds=auth.login_window_seconds)
        return cls(db, auth.login_max_failures, auth.login_max_failures_per_address, window)

    async def begin(
        self, address: str, now: datetime, account_guid: str | None, login: str = ""
    ) -> Attempt:
        """Count an attempt from `address` at an account (or an unknown login); 429 if too many."""
        subject = f"account:{account_guid}" if account_guid else f"login:{login.lower()}"
        attempt = Attempt(f"{subject} from {address}", f"addr:{address}", now)
        # Read first without the write lock, so a flood of guesses already refused takes none.
        wait = await self._retry_after(self._db.inline, attempt, now)
        if not wait:
            # Counted and recorded in one write transaction: concurrent attempts, in this
            # process or another, are each counted after the ones before them.
            async with self._db.transaction() as tx:
                wait = await self._retry_after(tx, attempt, now)
                if not wait:
                    await login_failures.add(tx, [attempt.pair, attempt.address], now)
                    await self._sweep(tx, now)
        if wait:
            raise rate_limited(math.ceil(wait))
        return attempt

    async def end(self, attempt: Attempt, ok: bool) -> None:
        """A failed attempt stays counted (as does one whose check never ended)."""
        if ok:
            async with self._db.transaction() as tx:
                await login_failures.clear(tx, attempt.pair)
                await login_failures.remove_one(tx, attempt.address, attempt.at)

    async def _retry_after(self, q: Queryable, attempt: Attempt, now: datetime) -> float:
        return max(
            await self._pairs.retry_after(q, attempt.pair, now),
            await self._addresses.retry_after(q, attempt.address, now),
        )

    async def _sweep(self, tx: Tx, now: datetime) -> None:
        """Delete the failures that have left the window, at most once per window in each
        process: they no longer count, but every distinct login ever tried would stay."""
        if self._swept is not None and now - self._swept < self._window:
            return
        self._swept = now
        await login_failures.forget_until(tx, now - self._window)
