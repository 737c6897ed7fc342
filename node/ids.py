"""GUIDs: 32 lowercase hex characters, network-wide unique.

The first 12 characters are the creation time in milliseconds, the other 20 are random
(80 bits). Rows keyed by GUID are then written at the end of their indexes rather than at
random places in them, so a commit touches a few index pages instead of one per new row.
The time says no more than a record's own `createdAt` already does.

Lists order by (time, guid), newest first, so the guids one process makes strictly increase:
two made in the same millisecond (or after the wall clock stepped back) keep the order they
were made in, rather than that of their random tails.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from datetime import datetime

GUID_RE = re.compile(r"^[0-9a-f]{32}$")
_RANDOM_BITS = 80
_STEP_BITS = 40  # random step within a millisecond: 2**39 of them before the tail overflows


class _Sequence:
    """Strictly increasing 128-bit values: the millisecond, then random bits."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        now = time.time_ns() // 1_000_000
        with self._lock:
            if now > self._last >> _RANDOM_BITS:
                # A new millisecond starts in the lower half of the random range, leaving room
                # to step up within it.
                tail = int.from_bytes(os.urandom(_RANDOM_BITS // 8)) >> 1
                self._last = now << _RANDOM_BITS | tail
            else:
                self._last += 1 + secrets.randbits(_STEP_BITS)
            return self._last


# One per process: every store's guids come from it, and that is what orders them.
_sequence = _Sequence()


def new_guid() -> str:
    return f"{_sequence.next():032x}"


def guid_floor(when: datetime) -> str:
    """The least guid made at `when`: every guid made before it sorts below."""
    return f"{int(when.timestamp() * 1000):012x}{0:020x}"


def is_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))
