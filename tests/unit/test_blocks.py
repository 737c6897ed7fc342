"""Domain blocks are decided on the host a client would connect to, however the URL spells it."""

import pytest

from federation.blocks import DomainBlocks

BLOCKS = DomainBlocks(["Evil.Example", "127.0.0.1:8001"])


@pytest.mark.parametrize(
    "where",
    [
        "https://evil.example/users/m",
        "evil.example",
        "https://x@evil.example/users/m",  # user info
        "https://x:y@evil.example/users/m",
        "https://evil.example@evil.example/users/m",
        "https://evil.example./users/m",  # trailing dot
        "https://EVIL.Example.:8443/inbox",  # case, any port
        "https://a.evil.example/inbox",  # a subdomain
        "a.evil.example:8443",
        "https://\uff45vil\uff0eexample/inbox",  # full-width e and dot, folded by IDNA
        "http://127.0.0.1:8001/inbox",  # a block with a port covers that port
        "http://u@127.0.0.1.:8001/inbox",
        "127.0.0.1:8001",
    ],
)
def test_blocked(where: str) -> None:
    assert BLOCKS.is_blocked(where)


@pytest.mark.parametrize(
    "where",
    [
        "https://notevil.example/users/m",
        "https://evil.example.org/users/m",
        "https://evil.example%2F@good.example/users/m",  # user info naming the blocked host
        "http://127.0.0.1:8002/inbox",  # another port
        "http://127.0.0.1/inbox",
        "127.0.0.1",
        "",
    ],
)
def test_not_blocked(where: str) -> None:
    assert not BLOCKS.is_blocked(where)


def test_stored_blocks_loaded_later_count_and_lifted_ones_go() -> None:
    blocks = DomainBlocks(["evil.example"])
    assert not blocks.is_blocked("https://spam.test/inbox")
    blocks.load({"spam.test."})
    assert blocks.is_blocked("https://x@www.spam.test/inbox")
    blocks.load(set())
    assert not blocks.is_blocked("https://spam.test/inbox")
    # The config's blocks stay whatever is stored.
    assert blocks.is_blocked("https://evil.example/inbox")
