"""Which addresses outgoing requests may reach: public unicast only, unless config allows more."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class BlockedAddress(Exception):
    """The host resolves to an address outgoing requests must not reach."""


def address_allowed(address: str, allow_private: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 host: IPv4-mapped, and 6to4
        # (2002::/16, routed to the embedded address where a relay or tunnel is set up).
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
        elif ip.is_site_local and not allow_private:
            return False  # fec0::/10: deprecated, yet still routed inside some networks
    if ip.is_unspecified or ip.is_multicast:
        return False
    if allow_private:
        return True
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved
    )


def literal_ip(host: str) -> str | None:
    """The address if `host` is an IP literal (brackets allowed), else None."""
    candidate = host.strip("[]")
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return None
    return candidate


class GuardedResolver(AbstractResolver):
    """Resolves through the default resolver and refuses any answer with a forbidden address.

    Checking at resolution time, not before the request, closes the DNS-rebinding gap.
    """

    def __init__(self, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not address_allowed(result["host"], self._allow_private):
                raise BlockedAddress(f"{host} resolves to a forbidden address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_literal(host: str, allow_private: bool, **_: Any) -> None:
    """IP literals skip the resolver, so they are checked here."""
    ip = literal_ip(host)
    if ip is not None and not address_allowed(ip, allow_private):
        raise BlockedAddress(f"{host} is a forbidden address")
