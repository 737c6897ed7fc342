"""Outgoing HTTP for federation: signed GETs and POSTs; SSRF, size, time and redirect limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from yarl import URL

from federation import httpsig
from federation.convert import mend_surrogates, too_deep
from federation.keys import LocalKeys
from federation.ssrf import BlockedAddress, GuardedResolver, check_literal
from federation.urls import Urls, same_origin
from node.clock import Clock
from node.config import FederationConfig
from node.version import SOFTWARE, VERSION

AS_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AS_TYPES = ("application/activity+json", "application/ld+json")
JRD_ACCEPT = "application/jrd+json, application/json"
# Fetch connections open to one host at once. A host that accepts connections and never answers
# holds at most this many until the fetch timeout, however many fetches name it, so the rest of
# the pool stays free for other hosts; a healthy host answers quickly, so a few suffice for a
# burst of fetches from it (concurrent fetches of one actor already share one GET).
FETCHES_PER_HOST = 4
FETCH_CONNECTIONS = 32


class FetchError(Exception):
    """An outgoing fetch failed; `code` says why in a word, `status` is the HTTP status if any."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None: no answer (connection refused, timeout, blocked address)
    retry_after: str | None
    error: str | None


class FederationClient:
    def __init__(
        self,
        config: FederationConfig,
        urls: Urls,
        keys: LocalKeys,
        clock: Clock,
        user_agent_url: str,
        is_blocked: Callable[[str], bool],
    ) -> None:
        self._config = config
        # Blocked domains are refused both ways: nothing is fetched from them either.
        self._is_blocked = is_blocked
        self._urls = urls
        self._keys = keys
        self._clock = clock
        # Fetches and deliveries have a session (and a connection pool) each: slow inboxes
        # cannot keep fetches waiting for a connection, nor slow fetches deliveries.
        self._session: aiohttp.ClientSession | None = None
        self._delivery_session: aiohttp.ClientSession | None = None
        self._signing: ThreadPoolExecutor | None = None
        self.user_agent = f"{SOFTWARE}/{VERSION} (+{user_agent_url})"

    async def start(self) -> None:
        if self._config.signing_threads:
            # An RSA signature is a few hundred microseconds that OpenSSL spends without
            # Python's lock: on threads, a fan-out's signatures are made on every core while
            # the event loop goes on with requests.
            self._signing = ThreadPoolExecutor(
                self._config.signing_threads, thread_name_prefix="hearth-sign"
            )
        self._session = self._new_session(FETCH_CONNECTIONS, FETCHES_PER_HOST)
        # The delivery worker sends at most delivery_workers requests at once, at most
        # delivery_per_host of them to one host: a connection is always free for each.
        self._delivery_session = self._new_session(
            self._config.delivery_workers, self._config.delivery_per_host
        )

    def _new_session(self, limit: int, per_host: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._config.allow_private_addresses),
            limit=limit,
            limit_per_host=per_host,
            ttl_dns_cache=300,
        )
        return aiohttp.ClientSession(
            connector=connector, headers={"User-Agent": self.user_agent}, auto_decompress=True
        )

    async def close(self) -> None:
        for session in (self._session, self._delivery_session):
            if session is not None:
                await session.close()
        self._session = self._delivery_session = None
        if self._signing is not None:
            self._signing.shutdown()
            self._signing = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The fetches' session."""
        if self._session is None:
            raise RuntimeError("the federation client is not started")
        return self._session

    @property
    def delivery_session(self) -> aiohttp.ClientSession:
        if self._delivery_session is None:
            raise RuntimeError("the federation client is not started")
        return self._delivery_session

    async def _signed_headers(
        self, method: str, url: URL, body: bytes | None, signer: str, accept: str | None
    ) -> dict[str, str]:
        key, _ = await self._keys.get(signer)
        sign = (method, str(url), body, self._urls.key_id(signer), key, self._clock, accept)
        if self._signing is None:
            return _sign(*sign)
        return await asyncio.get_running_loop().run_in_executor(self._signing, _sign, *sign)

    async def get_json(
        self,
        url: str,
        *,
        signer: str | None = None,
        accept: str = AS_ACCEPT,
        as_types: tuple[str, ...] = AS_TYPES,
        off_origin: bool = False,
    ) -> dict[str, Any]:
        """Signed GET of a JSON document on `url`'s origin; redirects may not leave that origin
        unless `off_origin` (WebFinger, whose answer stands for the domain asked whoever gives
        it: Mastodon's LOCAL_DOMAIN redirects it to its WEB_DOMAIN), and then not from https
        to plain http. Every URL is checked as the first is (addresses, blocks)."""
        signer = signer or self._urls.instance_actor
        timeout = aiohttp.ClientTimeout(total=self._config.fetch_timeout_seconds)
        current = url
        for _ in range(self._config.fetch_max_redirects + 1):
            wire = _check_url(current, self._config.allow_private_addresses)
            if self._is_blocked(current):
                raise FetchError("domain_blocked", "the domain is blocked")
            headers = await self._signed_headers("GET", wire, None, signer, accept)
            try:
                async with self.session.get(
                    wire, headers=headers, allow_redirects=False, timeout=timeout
                ) as resp:
                    if resp.status in (301, 302, 303, 307, 308):
                        try:
                            target = urljoin(current, resp.headers.get("Location", ""))
                        except ValueError:  # brackets around no IPv6 address
                            raise FetchError("bad_url", "redirected to no valid URL") from None
                        elsewhere = off_origin and _no_downgrade(current, target)
                        if not elsewhere and not same_origin(target, url):
                            raise FetchError("redirect_off_origin", "redirected to another origin")
                        current = target
                        continue
                    if resp.status == 410:
                        raise FetchError("gone", "the document is gone", 410)
                    if resp.status != 200:
                        raise FetchError("http_error", f"answered {resp.status}", resp.status)
                    if resp.content_type not in as_types:
                        raise FetchError("wrong_media_type", f"answered {resp.content_type}")
                    raw = await _read_capped(resp, self._config.fetch_max_bytes)
            except (aiohttp.ClientError, TimeoutError, BlockedAddress) as exc:
                raise FetchError("unreachable", _describe(exc)) from None
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError):  # also huge integers and absurd nesting
                raise FetchError("malformed", "not JSON") from None
            if not isinstance(doc, dict):
                raise FetchError("malformed", "not a JSON object")
            if too_deep(doc, raw=raw):
                raise FetchError("malformed", "nested too deeply")
            return mend_surrogates(doc, raw)
        raise FetchError("too_many_redirects", "too many redirects")

    async def post(
        self, inbox: str, body: bytes, signer: str, timeout: float, *, delivery: bool = True
    ) -> PostResult:
        """POST `body` to `inbox`; on the deliveries' connections unless not `delivery` (a
        request someone is waiting for, which takes the fetches' instead)."""
        try:
            wire = _check_url(inbox, self._config.allow_private_addresses)
            if self._is_blocked(inbox):
                raise FetchError("domain_blocked", "the domain is blocked")
        except FetchError as exc:
            return PostResult(None, None, exc.code)
        headers = await self._signed_headers("POST", wire, body, signer, None)
        try:
            session = self.delivery_session if delivery else self.session
            async with session.post(
                wire,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                await resp.content.read(4096)  # drain a little; the answer body is not needed
                return PostResult(resp.status, resp.headers.get("Retry-After"), None)
        except (aiohttp.ClientError, TimeoutError, BlockedAddress) as exc:
            return PostResult(None, None, _describe(exc))


def _sign(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    key: RSAPrivateKey,
    clock: Clock,
    accept: str | None,
) -> dict[str, str]:
    headers = httpsig.sign_request(method, url, body, key_id, key, clock.now(), accept=accept)
    if accept and "Accept" not in headers:
        headers["Accept"] = accept
    return headers


def _no_downgrade(url: str, target: str) -> bool:
    """Whether a redirect from `url` to `target` keeps https where it had it."""
    before, after = urlsplit(url).scheme.lower(), urlsplit(target).scheme.lower()
    return after == "https" or (before == "http" and after == "http")


def _check_url(url: str, allow_private: bool) -> URL:
    """`url` as the HTTP client puts it on the wire (escapes normalised, non-ASCII escaped,
    dot segments resolved, the host lower case and IDNA-encoded), to be signed and sent as it
    is: a signature over the URL as given would not match the `(request-target)` and Host the
    receiver sees."""
    try:
        parts = urlsplit(url)
    except ValueError:  # brackets around no IPv6 address
        raise FetchError("bad_url", "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("bad_url", "not an absolute http(s) URL")
    try:
        wire = URL(url)
    except ValueError:  # a port out of range, a broken IPv6 literal
        raise FetchError("bad_url", "not a valid URL") from None
    try:
        # The host the client connects to: IDNA makes 127.0.0.1 spelt in full-width digits or
        # with ideographic full stops an IP literal, connected to without the guarded resolver.
        check_literal(wire.raw_host or "", allow_private)
    except BlockedAddress as exc:
        raise FetchError("forbidden_address", str(exc)) from None
    return wire


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise FetchError("too_large", f"over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise FetchError("too_large", f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BlockedAddress):
        return "forbidden_address"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    return type(exc).__name__
