"""The rendered-post cache (see post_json.py): one per app."""

from __future__ import annotations


class PostJsonCache:
    """(post guid, stamp) -> the post's JSON object without the viewer's fields and without its
    closing brace. The oldest entry goes first when full: reads stay a plain dict lookup, and
    a post still read after that is rendered once more."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[tuple[str, str], bytes] = {}
        self.get = self._items.get

    def put(self, key: tuple[str, str], value: bytes) -> None:
        self._items[key] = value
        while len(self._items) > self._size:
            del self._items[next(iter(self._items))]

    def __len__(self) -> int:
        return len(self._items)
