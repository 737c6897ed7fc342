"""The rendered-post cache (see post_json.py): one per app."""

from __future__ import annotations

from collections import OrderedDict


class PostJsonCache:
    """Least recently used: (post guid, stamp) -> the post's JSON object without the viewer's
    fields and without its closing brace."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def get(self, key: tuple[str, str]) -> bytes | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], value: bytes) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
