"""Domain blocks: from config and from `hearth domain block`; a block covers subdomains.

Every check asks `DomainBlocks.is_blocked` with a URL or a host[:port], and the answer depends
on the host an HTTP client would connect to: user info, letter case, a trailing dot and
characters IDNA folds to ASCII (full-width letters and dots) hide nothing. A block without a
port covers every port; `host:port` covers that port only.
"""

from __future__ import annotations

from node.urls import host_port


class DomainBlocks:
    """The config's blocks, always, and the stored ones as last loaded (`load`)."""

    def __init__(self, domains: list[str] | set[str]) -> None:
        self._fixed = set(domains)
        self._ports = _ports(self._fixed)  # host → blocked ports, None for all

    def load(self, stored: set[str]) -> None:
        """Take the stored blocks as they are now: ones lifted since go, new ones apply."""
        # One assignment, so a check running meanwhile sees the old set or the new one.
        self._ports = _ports(self._fixed | stored)

    def is_blocked(self, where: str) -> bool:
        """Whether `where`, a URL or a host[:port], is on a blocked domain or a subdomain."""
        host, port = host_port(where)
        labels = host.split(".")
        for i in range(len(labels)):
            ports = self._ports.get(".".join(labels[i:]))
            if ports is not None and (None in ports or port in ports):
                return True
        return False


def _ports(domains: set[str]) -> dict[str, set[int | None]]:
    ports: dict[str, set[int | None]] = {}
    for domain in domains:
        host, port = host_port(domain)
        if host:
            ports.setdefault(host, set()).add(port)
    return ports
