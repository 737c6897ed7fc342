from ipaddress import ip_network

import pytest

from node.api.client_address import client_address
from node.config import ConfigError, build_config

PROXIES = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("127.0.0.1", None, "127.0.0.1"),  # no header: the proxy itself
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "10.1.2.3, 203.0.113.5, 10.0.0.7", "203.0.113.5"),  # proxies skipped
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # left of it: client-made
        ("127.0.0.1", "10.0.0.2, 10.0.0.3", "127.0.0.1"),  # only proxies
        ("127.0.0.1", "203.0.113.5, not-an-address", "127.0.0.1"),  # malformed: ignored
        ("127.0.0.1", " 2001:db8::1 ", "2001:db8::1"),
        ("192.0.2.44", "203.0.113.5", "192.0.2.44"),  # not a trusted peer: header ignored
    ],
)
def test_rightmost_untrusted_hop_is_the_client(
    peer: str, header: str | None, expected: str
) -> None:
    assert client_address(peer, header, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", ()) == "127.0.0.1"


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    config = build_config({"server": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}}, env={})
    assert config.server.proxy_networks == PROXIES
    with pytest.raises(ConfigError, match=r"server\.trusted_proxies"):
        build_config({"server": {"trusted_proxies": ["proxy.example"]}}, env={})
