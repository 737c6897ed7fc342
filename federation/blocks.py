"""Domain blocks: from config and from `hearth domain block`; a block covers subdomains.

Every check asks `DomainBlocks.is_blocked` with a URL or a host[:port], and the answer depends
on the host an HTTP client would connect to: user info, letter case, a trailing dot and
characters IDNA folds to ASCII (full-width letters and dots) hide nothing. A block without a
port covers every port; `host:port` covers that port only.
"""

from __future__ import annotations

from functools import lru_cache

from yarl import URL


@lru_cache(maxsize=4096)  # the same few actors and inboxes, over and over
def _host_port(where: str) -> tuple[str, int | None]:
    """The host (ASCII, lower case, no trailing dot) and port of a URL or a host[:port]."""
    try:
        url = URL(where if "://" in where else f"//{where}")
        # A URL's port is its scheme's default when it names none.
        return (url.raw_host or "").rstrip("."), url.port if url.scheme else url.explicit_port
    except ValueError:  # no host a client could connect to either
        return "", None


class DomainBlocks:
    def __init__(self, domains: list[str] | set[str]) -> None:
        self._ports: dict[str, set[int | None]] = {}  # host → blocked ports, None for all
        self.add(set(domains))

    def add(self, domains: set[str]) -> None:
        for domain in domains:
            host, port = _host_port(domain)
            if host:
                self._ports.setdefault(host, set()).add(port)

    def is_blocked(self, where: str) -> bool:
        """Whether `where`, a URL or a host[:port], is on a blocked domain or a subdomain."""
        host, port = _host_port(where)
        labels = host.split(".")
        for i in range(len(labels)):
            ports = self._ports.get(".".join(labels[i:]))
            if ports is not None and (None in ports or port in ports):
                return True
        return False
