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

Keys we never saw are fetched as they come, but each names a URL on someone's say: a stream of
made-up key ids would be a stream of GETs to their host. So a host whose unknown keys failed to
fetch ``HOST_FAILURES`` times within the interval gets no more fetches of unknown keys until it
passes (`FailedFetches`).
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from datetime import datetime, timedelta

__all__ = ("HOST_FAILURES", "HOST_REFETCHES", "MAX_TRACKED", "FailedFetches", "RefetchLimit")

# Refetches of keys on one host within the interval: a real rotation concerns one actor, so a
# few are plenty; this many at most keeps a flood of known key ids from one host cheap.
HOST_REFETCHES = 10
# Failed fetches of unknown keys on one host within the interval before its unknown keys are
# refused unfetched; real actors' keys fetch fine, so these are typos, deletions or made up.
HOST_FAILURES = 10
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
    """Hosts whose unknown keys keep failing to fetch; `allow` says whether to try one now."""

    def __init__(
        self, interval: timedelta, per_host: int = HOST_FAILURES, max_tracked: int = MAX_TRACKED
    ) -> None:
        self._interval = interval
        self._per_host = per_host
        self._max_tracked = max_tracked
        # host → when its latest failures were (at most `per_host`), least recent host first.
        self._hosts: OrderedDict[str, deque[datetime]] = OrderedDict()

    def allow(self, host: str, now: datetime) -> bool:
        times = self._hosts.get(host)
        if times is None:
            return True
        while times and not now - self._interval < times[0] <= now:
            times.popleft()
        if not times:
            del self._hosts[host]
            return True
        return len(times) < self._per_host

    def failed(self, host: str, now: datetime) -> None:
        times = self._hosts.setdefault(host, deque(maxlen=self._per_host))
        times.append(now)
        self._hosts.move_to_end(host)
        while len(self._hosts) > self._max_tracked:
            self._hosts.popitem(last=False)
