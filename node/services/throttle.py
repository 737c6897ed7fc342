"""Counts failed password attempts in a sliding window; one instance per app, kept in memory."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.config import AuthConfig
from node.errors import rate_limited


class FailureThrottle:
    def __init__(self, max_failures: int, window: timedelta) -> None:
        self._max = max_failures
        self._window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._swept: datetime | None = None

    def __len__(self) -> int:
        """How many keys are tracked."""
        return len(self._failures)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self._window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, keys: list[str], now: datetime) -> int:
        """Seconds to wait before another attempt is allowed for any of `keys` (0: go ahead)."""
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self._max:
                wait = max(wait, (times[0] + self._window - now).total_seconds())
        return math.ceil(wait)

    def fail(self, keys: list[str], now: datetime) -> None:
        self._sweep(now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def release(self, keys: list[str], at: datetime) -> None:
        """Take back one failure counted at `at` for each of `keys`, where it is still counted."""
        for key in keys:
            times = self._failures.get(key)
            if times and at in times:
                times.remove(at)
                if not times:
                    del self._failures[key]

    def clear(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _sweep(self, now: datetime) -> None:
        """Forget keys whose failures have all left the window (at most once per window).

        Without this, every distinct login ever tried would stay in memory.
        """
        if self._swept is not None and now - self._swept < self._window:
            return
        self._swept = now
        for key in list(self._failures):
            self._recent(key, now)


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
    """

    def __init__(self, max_failures: int, max_per_address: int, window: timedelta) -> None:
        self._pairs = FailureThrottle(max_failures, window)
        self._addresses = FailureThrottle(max_per_address, window)

    @classmethod
    def of(cls, auth: AuthConfig) -> PasswordThrottle:
        window = timedelta(seconds=auth.login_window_seconds)
        return cls(auth.login_max_failures, auth.login_max_failures_per_address, window)

    def begin(
        self, address: str, now: datetime, account_guid: str | None, login: str = ""
    ) -> Attempt:
        """Count an attempt from `address` at an account (or an unknown login); 429 if too many."""
        subject = f"account:{account_guid}" if account_guid else f"login:{login.lower()}"
        attempt = Attempt(f"{subject} from {address}", f"addr:{address}", now)
        pair, addr = [attempt.pair], [attempt.address]
        wait = max(self._pairs.retry_after(pair, now), self._addresses.retry_after(addr, now))
        if wait:
            raise rate_limited(wait)
        self._pairs.fail(pair, now)
        self._addresses.fail(addr, now)
        return attempt

    def end(self, attempt: Attempt, ok: bool) -> None:
        """A failed attempt stays counted (as does one whose check never ended)."""
        if ok:
            self._pairs.clear([attempt.pair])
            self._addresses.release([attempt.address], attempt.at)
