"""The garbage collector of a serving process."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from node.collector import YOUNG_THRESHOLD, settle


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored")
def test_settling_leaves_what_exists_out_of_later_collections() -> None:
    kept = [object() for _ in range(10)]  # tracked objects alive at startup
    frozen_before = gc.get_freeze_count()
    settle()
    assert gc.get_freeze_count() > frozen_before + len(kept)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD


@pytest.mark.usefixtures("restored")
def test_cyclic_garbage_made_after_settling_is_still_collected() -> None:
    settle()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    watch = weakref.ref(a)
    del a, b
    assert watch() is not None  # a cycle: reference counting alone does not free it
    gc.collect()
    assert watch() is None
