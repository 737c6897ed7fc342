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


def test_guids_made_within_one_millisecond_keep_the_order_they_were_made_in() -> None:
    # Lists order by (time, guid): a later row must sort after an earlier one of the same time.
    made = [new_guid() for _ in range(2000)]
    assert len({g[:12] for g in made}) < len(made)  # some share a millisecond
    assert made == sorted(made)


def test_a_guid_starts_with_its_creation_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    guid = new_guid()
    after = time.time_ns() // 1_000_000
    assert before <= int(guid[:12], 16) <= after
