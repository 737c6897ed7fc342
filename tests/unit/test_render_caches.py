"""The two caches of post lists: kept post JSON (oldest out first) and viewers' marks (by
revision, least recently used viewer out first)."""

from __future__ import annotations

from node.api.post_cache import PostJsonCache
from node.services.viewer_marks import ViewerMarksCache
from node.store.posts import ViewerMark


def test_post_json_cache_drops_the_oldest_when_full() -> None:
    cache = PostJsonCache(2)
    cache.put(("a", "1/0"), b"A")
    cache.put(("b", "1/0"), b"B")
    assert cache.get(("a", "1/0")) == b"A"
    cache.put(("c", "1/0"), b"C")
    assert len(cache) == 2
    assert cache.get(("a", "1/0")) is None
    assert cache.get(("b", "1/0")) == b"B" and cache.get(("c", "1/0")) == b"C"
    # Another stamp is another entry: a changed post is never served from an old one.
    assert cache.get(("c", "2/0")) is None


def test_viewer_marks_start_over_when_the_revision_moves() -> None:
    cache = ViewerMarksCache(viewers=2, per_viewer=3)
    known = cache.of("alice", 1)
    known["p1"] = ViewerMark(liked=True)
    assert cache.of("alice", 1) == {"p1": ViewerMark(liked=True)}
    assert cache.of("alice", 2) == {}


def test_viewer_marks_forget_the_least_recent_viewer_and_overfull_ones() -> None:
    cache = ViewerMarksCache(viewers=2, per_viewer=3)
    cache.of("alice", 1)["p"] = ViewerMark(bookmarked=True)
    cache.of("bob", 1)["p"] = ViewerMark()
    cache.of("alice", 1)  # alice is the most recent now
    cache.of("carol", 1)
    assert cache.of("alice", 1) == {"p": ViewerMark(bookmarked=True)}
    assert cache.of("bob", 1) == {}
    many = cache.of("dave", 1)
    many.update({f"p{i}": ViewerMark() for i in range(4)})
    assert cache.of("dave", 1) == {}
