import time

from node.ids import is_guid, new_guid


def test_guids_are_hex_unique_and_ordered_by_creation_time() -> None:
    first = [new_guid() for _ in range(1000)]
    time.sleep(0.002)
    later = new_guid()
    assert all(is_guid(g) for g in [*first, later])
    assert len(set(first)) == len(first)
    assert later > max(first)
    # The random part differs even within one millisecond.
    assert len({g[12:] for g in first}) == len(first)


def test_a_guid_starts_with_its_creation_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    guid = new_guid()
    after = time.time_ns() // 1_000_000
    assert before <= int(guid[:12], 16) <= after
