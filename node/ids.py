"""GUIDs: 32 lowercase hex characters, network-wide unique.

The first 12 characters are the creation time in milliseconds, the other 20 are random
(80 bits). Rows keyed by GUID are then written at the end of their indexes rather than at
random places in them, so a commit touches a few index pages instead of one per new row.
The time says no more than a record's own `createdAt` already does.
"""

from __future__ import annotations

import os
import re
import time

GUID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_guid() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def is_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))
