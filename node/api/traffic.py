"""Requests answered since the pod started, by status class: counted in memory.

A pod of several processes counts in memory they share (made before they are): each process
adds to its own row, and a reading sums the rows, so every process reports the whole pod.
"""

from __future__ import annotations

import time
from collections.abc import MutableSequence

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class Traffic:
    def __init__(
        self,
        counts: MutableSequence[int] | None = None,  # several: a RawArray of rows
        row: int = 0,
        started: float | None = None,
    ) -> None:
        self.started = time.monotonic() if started is None else started
        self._counts = [0] * len(CLASSES) if counts is None else counts
        self._base = row * len(CLASSES)

    def count(self, status: int) -> None:
        i = status // 100 - 1
        if 0 <= i < len(CLASSES):
            self._counts[self._base + i] += 1

    @property
    def by_class(self) -> dict[str, int]:
        n = len(CLASSES)
        return {name: sum(self._counts[i::n]) for i, name in enumerate(CLASSES)}

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started
