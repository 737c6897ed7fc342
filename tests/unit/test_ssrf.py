"""Which addresses outgoing requests may reach, in every spelling that reaches a host."""

from __future__ import annotations

import pytest

from federation.ssrf import address_allowed


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "fec0::1",  # site-local
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "0.0.0.0",
        "224.0.0.1",
        "not an address",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1", "2002:5db8:d822::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    # The last: 6to4 of 93.184.216.34, a public host.
    assert address_allowed(address, allow_private=False)


def test_the_allowlist_opens_private_addresses_but_not_unspecified_or_multicast() -> None:
    assert address_allowed("2002:7f00:1::1", allow_private=True)
    assert address_allowed("fec0::1", allow_private=True)
    assert not address_allowed("::", allow_private=True)
    assert not address_allowed("ff02::1", allow_private=True)
