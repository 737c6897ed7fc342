"""How often a failed signature may make us fetch the signer's key again.

Pure: the caller passes the time, and keeps one `RefetchLimit` per app.

A signature that does not verify with the key on record may mean its owner rotated the key, so
the key is fetched once more. Anyone can name a known key id with a junk signature, though, and
each refetch is a GET to a third party's server and a write to our database. So refetches are
rationed: at most one per key id within the interval, and at most ``HOST_REFETCHES`` per host
within it, whatever key ids are named (a large pod hosts many actors whose keys we hold). Within
the interval a failed verification is refused without a fetch. A real rotation is still picked up
by the first failure after it, or, if a refetch came just before it, by the first failure once
the interval has passed (senders retry a 401).

Keys we never saw are fetched as they come (as Mastodon does: each costs the sender a request
of its own). A key id whose fetch failed is not fetched again within the interval
(`FailedFetches`), so repeating one made-up id costs its host nothing more. Nothing is refused
for a whole host: anyone may name any host's key ids, and a host-wide refusal would let them
keep that host's new actors out.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from datetime import datetime, timedelta

__all__ = ("HOST_REFETCHES", "MAX_TRACKED", "FailedFetches", "RefetchLimit")

# Refetches of keys on one host within the interval: a real rotation concerns one actor, so a
# few are plenty; this many at most keeps a flood of known key ids from one host cheap.
HOST_REFETCHES = 10
# Key ids remembered at once; past this the oldest is forgotten early (memory stays bounded).
MAX_TRACKED = 10_000


class RefetchLimit:
    """Which forced key refetches may happen now; `allow` also counts the one it allows."""

    def __init__(
        self,
        interval: timedelta,
        per_host: int = HOST_REFETCHES,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self._interval = interval
        self._per_host = per_host
        self._max_tracked = max_tracked
        # key id → (when it was last refetched, its host), oldest first.
        self._recent: OrderedDict[str, tuple[datetime, str]] = OrderedDict()
        self._per_host_now: Counter[str] = Counter()  # host → entries of `_recent` on it

    def allow(self, key_id: str, host: str, now: datetime) -> bool:
        """True when `key_id` (on `host`) may be fetched again at `now`; counted if so."""
        self._expire(now)
        if key_id in self._recent or self._per_host_now[host] >= self._per_host:
            return False
        self._recent[key_id] = (now, host)
        self._per_host_now[host] += 1
        while len(self._recent) > self._max_tracked:
            self._forget(next(iter(self._recent)))
        return True

    def _expire(self, now: datetime) -> None:
        # Entries are in the order they were allowed, so this stops at the first one still in
        # the interval. One dated after `now` (the clock was set back) is dropped, not held
        # until the clock catches up with it.
        while self._recent:
            key_id, (when, _) = next(iter(self._recent.items()))
            if now - self._interval < when <= now:
                break
            self._forget(key_id)

    def _forget(self, key_id: str) -> None:
        _, host = self._recent.pop(key_id)
        self._per_host_now[host] -= 1
        if self._per_host_now[host] <= 0:
            del self._per_host_now[host]


class FailedFetches:
    """Key ids whose fetch failed lately; `allow` says whether to fetch one now."""

    def __init__(self, interval: timedelta, max_tracked: int = MAX_TRACKED) -> None:
        self._interval = interval
        self._max_tracked = max_tracked
        self._failed: OrderedDict[str, datetime] = OrderedDict()  # key id → when, oldest first

    def allow(self, key_id: str, now: datetime) -> bool:
        when = self._failed.get(key_id)
        if when is None:
            return True
        if now - self._interval < when <= now:
            return False
        del self._failed[key_id]
        return True

    def failed(self, key_id: str, now: datetime) -> None:
        self._failed.pop(key_id, None)
        self._failed[key_id] = now
        while len(self._failed) > self._max_tracked:
            self._failed.popitem(last=False)
