"""Domain blocks: from config and from `hearth domain block`; a block covers subdomains."""

from __future__ import annotations


class DomainBlocks:
    def __init__(self, domains: list[str] | set[str]) -> None:
        self._domains = {d.lower() for d in domains}

    def add(self, domains: set[str]) -> None:
        self._domains |= {d.lower() for d in domains}

    def is_blocked(self, host: str) -> bool:
        host = host.lower()
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return any(b in (host, name) or name.endswith("." + b) for b in self._domains)
