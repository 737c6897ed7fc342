"""The client's address, as seen through the reverse proxies the operator trusts.

Behind a proxy every request comes from the proxy's address; counting login failures per
address would then throttle everyone at once. A trusted proxy reports the address it saw in
`X-Forwarded-For`, each proxy appending the one it saw, so the list is read from the right and
the first address that is not a trusted proxy is the client. Anything left of it was written
by the client itself and proves nothing. From a peer that is not trusted, the header is
ignored: anyone can send it.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

Networks = tuple[IPv4Network | IPv6Network, ...]


def _trusted(address: str, proxies: Networks) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: Networks) -> str:
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        try:
            ip_address(hop)
        except ValueError:
            return peer  # a malformed list is not evidence of anything
        if not _trusted(hop, proxies):
            return hop
    return peer  # every hop was one of our proxies
