"""Domain blocks: from config and from `hearth domain block`; a block covers subdomains.

Every check asks `DomainBlocks.is_blocked` with a URL or a host[:port], and the answer depends
on the host an HTTP client would connect to: user info, letter case, a trailing dot and
characters IDNA folds to ASCII (full-width letters and dots) hide nothing. A block without a
port covers every port; `host:port` covers that port only.
"""

from __future__ import annotations

from node.urls import host_port


class DomainBlocks:
    def __init__(self, domains: list[str] | set[str]) -> None:
        self._ports: dict[str, set[int | None]] = {}  # host → blocked ports, None for all
        self.add(set(domains))

    def add(self, domains: set[str]) -> None:
        for domain in domains:
            host, port = host_port(domain)
            if host:
                self._ports.setdefault(host, set()).add(port)

    def is_blocked(self, where: str) -> bool:
        """Whether `where`, a URL or a host[:port], is on a blocked domain or a subdomain."""
        host, port = host_port(where)
        labels = host.split(".")
        for i in range(len(labels)):
            ports = self._ports.get(".".join(labels[i:]))
            if ports is not None and (None in ports or port in ports):
                return True
        return False
