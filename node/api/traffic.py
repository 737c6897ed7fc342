"""Requests answered since the pod started, by status class: counted in memory, per app."""

from __future__ import annotations

import time

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class Traffic:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_class = dict.fromkeys(CLASSES, 0)

    def count(self, status: int) -> None:
        key = f"{status // 100}xx"
        if key in self.by_class:
            self.by_class[key] += 1

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started
