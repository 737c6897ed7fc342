"""What each viewer did with the posts they were shown (liked, reshared, reacted, bookmarked),
kept per viewer under the viewer's marks revision, which triggers bump whenever any of it
changes. A page then needs no lookups for these, only the revision."""

from __future__ import annotations

from collections import OrderedDict

from node.store.posts import ViewerMark


class ViewerMarksCache:
    """Least recently used viewers; each holds at most `per_viewer` posts, then starts over."""

    def __init__(self, viewers: int = 256, per_viewer: int = 2000) -> None:
        self._viewers = viewers
        self._per_viewer = per_viewer
        self._items: OrderedDict[str, tuple[int, dict[str, ViewerMark]]] = OrderedDict()

    def of(self, viewer: str, rev: int) -> dict[str, ViewerMark]:
        """The viewer's known marks at revision `rev` (fill it with what is looked up)."""
        found = self._items.get(viewer)
        if found is None or found[0] != rev or len(found[1]) > self._per_viewer:
            found = (rev, {})
            self._items[viewer] = found
        self._items.move_to_end(viewer)
        while len(self._items) > self._viewers:  # with no room, not even this viewer stays
            self._items.popitem(last=False)
        return found[1]
