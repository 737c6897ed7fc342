"""GUIDs: 32 lowercase hex characters, random, network-wide unique."""

from __future__ import annotations

import re
import uuid

GUID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_guid() -> str:
    return uuid.uuid4().hex


def is_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))
