"""Counts failed attempts per key in a sliding window; one instance per app, kept in memory."""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta


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
