"""Origins of URLs: pure helpers shared by services and federation."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit


@lru_cache(maxsize=4096)  # the same few actors and inboxes, over and over
def origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


@lru_cache(maxsize=4096)
def host_of(uri: str) -> str:
    return urlsplit(uri).netloc.lower()
