"""The garbage collector as a long-running server process wants it."""

from __future__ import annotations

import gc

# Net allocations between two collections of young objects. CPython's 700 runs one every few
# requests under load, each walking the objects of every request in flight, nearly all of
# which reference counting frees anyway; cyclic garbage now waits at most this many
# allocations (a few megabytes).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Once the pod has started: what exists then (modules, the app, its configuration,
    compiled patterns) lives as long as the process, so it is left out of every later
    collection, and young objects are collected less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
