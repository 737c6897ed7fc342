"""Origins of URLs: pure helpers shared by services and federation."""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import ip_address
from urllib.parse import urlsplit

from yarl import URL

# An http(s) URL whose host[:port] is plain ASCII and ends at a path, query, fragment or the
# end: nearly every id an activity carries. urlsplit would give these the same scheme and
# netloc (nothing here is stripped, unquoted or normalised by it), and reading them off is
# several times cheaper. Anything else (upper case, userinfo, IPv6, whitespace) goes through
# urlsplit.
_PLAIN = re.compile(r"(https?)://([a-z0-9.-]+(?::[0-9]+)?)(?=[/?#]|\Z)", re.ASCII)


@lru_cache(maxsize=4096)  # the same few actors and inboxes, over and over
def origin(uri: str) -> str:
    """The scheme and authority of `uri`; "" when it cannot be parsed (brackets around
    something that is no IPv6 address), which is the origin of nothing."""
    plain = _PLAIN.match(uri)
    if plain is not None:
        return f"{plain[1]}://{plain[2]}"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_origin(a: str, b: str) -> bool:
    mine = origin(a)
    return mine != "" and mine == origin(b)


@lru_cache(maxsize=4096)
def host_of(uri: str) -> str:
    """The authority of `uri`, lower case; "" when it cannot be parsed."""
    try:
        return urlsplit(uri).netloc.lower()
    except ValueError:
        return ""


def handle_host(uri: str) -> str:
    """The host[:port] of `uri` as the domain of handles names it: the host ASCII, lower case
    and without a trailing dot, the port as a number and only when not the scheme's default.
    One server is one namespace of handles however its URLs spell it (`:443`, `:08080`); ""
    when it cannot be parsed."""
    try:
        return URL(uri).host_port_subcomponent or ""
    except ValueError:
        return ""


def odd_authority(uri: str) -> bool:
    """User info or a trailing dot on the host: never in a real actor's id, and a way to make
    one host look like another; or an authority that cannot be parsed at all."""
    try:
        parts = urlsplit(uri)
        return "@" in parts.netloc or (parts.hostname or "").endswith(".")
    except ValueError:
        return True


@lru_cache(maxsize=4096)  # the same few actors and inboxes, over and over
def host_port(where: str) -> tuple[str, int | None]:
    """The host (ASCII, lower case, no trailing dot) and port of a URL or a host[:port]: the host
    an HTTP client would connect to, which domain blocks are decided on."""
    try:
        url = URL(where if "://" in where else f"//{where}")
        # A URL's port is its scheme's default when it names none.
        return (url.raw_host or "").rstrip("."), url.port if url.scheme else url.explicit_port
    except ValueError:  # no host a client could connect to either
        return "", None


# https's and http's: a URL names them only rarely, as the same server as no port.
DEFAULT_PORTS = (443, 80)


def host_key(where: str) -> str:
    """`host_port` as one text, host[:port] (an IPv6 host in brackets); "" without a host."""
    return _joined(*host_port(where))


def _joined(host: str, port: int | None) -> str:
    if ":" in host:
        host = f"[{host}]"
    return host if port is None or not host else f"{host}:{port}"


def default_port_forms(key: str) -> list[str]:
    """`key` (a `host_key`) and the other forms a URL may give the same server in: without the
    port when it is https's or http's default, and with either when it names none (an inbox
    URL names the port only when it is not its scheme's default)."""
    host, port = host_port(key)
    if port is None:
        return [key, *(_joined(host, p) for p in DEFAULT_PORTS)]
    return [key, _joined(host, None)] if port in DEFAULT_PORTS else [key]


# A host name once IDNA has made it ASCII: dot-separated labels, none of them empty or longer
# than DNS allows.
HOST_NAME_RE = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}")


def canonical_host(domain: str) -> str | None:
    """`host_key` of a host name or IP address with an optional port, as people type them;
    None for anything else (a URL, user info, a path, spaces, empty labels, a bad port), so
    it is never read as some other host."""
    domain = domain.strip()
    host, _ = host_port(domain)
    if (
        any(c in domain for c in "/\\@?#%")
        or any(c.isspace() for c in domain)
        or not (HOST_NAME_RE.fullmatch(host) or _is_ip(host))
    ):
        return None
    return host_key(domain)


def handle_domain(domain: str) -> str | None:
    """`canonical_host` of the domain part of a handle, without a port that is https's or
    http's default: a handle names a server as the domain of its actors' ids does
    (`handle_host`), so `name@host:443` is `name@host`, ours included."""
    key = canonical_host(domain)
    if key is None:
        return None
    host, port = host_port(key)
    return _joined(host, None) if port in DEFAULT_PORTS else key


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
