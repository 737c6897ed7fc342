"""Origins of URLs: pure helpers shared by services and federation."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def host_of(uri: str) -> str:
    return urlsplit(uri).netloc.lower()
