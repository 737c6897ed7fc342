"""Helpers for tests: a running pod with an HTTP client, users on it, waiting for conditions."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict
from yarl import URL

from node.clock import ManualClock, parse_iso
from node.config import NodeConfig

GUID_RE = re.compile(r"^[0-9a-f]{32}\Z")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_LINK_RE = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]+)"')


def parse_links(header: str | None) -> dict[str, str]:
    """A Link header as {rel: url}."""
    return {rel: url for url, rel in _LINK_RE.findall(header or "")}


def between(stamp: str, start: datetime, end: datetime) -> bool:
    """True when an API timestamp (millisecond precision) falls within [start, end]."""
    floor = start.replace(microsecond=start.microsecond // 1000 * 1000)
    return floor <= parse_iso(stamp) <= end


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class User:
    username: str
    token: str
    account_id: str
    identity_id: str
    password: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Pod:
    config: NodeConfig
    server: TestServer
    clock: ManualClock
    http: ClientSession
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return self.config.server.public_url

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def app(self) -> Any:
        return self.server.app

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.server.close()
            await self.http.close()

    async def raw(self, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """Send bytes no HTTP client would (`head`: request line and headers, no blank line);
        returns the status, the headers (lower-case names) and the body."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        try:
            writer.write(head + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
        top, _, content = answer.partition(b"\r\n\r\n")
        return *_status_and_headers(top), content

    async def stalled(
        self, head: bytes, sent: bytes, timeout: float = 10
    ) -> tuple[int, dict[str, str], bytes, float]:
        """Send a request whose body stops short of what its Content-Length says (`head`:
        request line and headers, no blank line; `sent`: the body bytes that do arrive) and
        keep the connection open; returns the status, headers and body of the answer, and the
        seconds it took to come."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        try:
            writer.write(head + b"\r\n\r\n" + sent)
            await writer.drain()
            start = time.monotonic()
            top = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            status, headers = _status_and_headers(top.removesuffix(b"\r\n\r\n"))
            length = int(headers.get("content-length", "0"))
            content = await asyncio.wait_for(reader.readexactly(length), timeout)
            return status, headers, content, time.monotonic() - start
        finally:
            writer.close()

    def request(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        headers = CIMultiDict(kw.pop("headers", {}) or {})  # a header may repeat
        if user is not None:
            headers.update(user.auth)
        return self.http.request(method, self.url + path, headers=headers, **kw)

    async def call(
        self, method: str, path: str, user: User | None = None, expect: int | None = None, **kw: Any
    ) -> tuple[ClientResponse, Any]:
        async with self.request(method, path, user, **kw) as resp:
            body = await resp.read()
            data: Any = None
            if body and resp.content_type.endswith("json"):
                data = await resp.json(content_type=None)
            if expect is not None:
                assert resp.status == expect, f"{method} {path}: {resp.status} {body[:500]!r}"
            return resp, data

    async def follow(
        self, url: str, user: User | None = None, expect: int | None = 200, **kw: Any
    ) -> tuple[ClientResponse, Any]:
        """GET an absolute URL from a Link header; it must point at this pod."""
        target = URL(url)
        assert f"{target.scheme}://{target.authority}" == self.url, url
        return await self.call("GET", target.raw_path_qs, user, expect=expect, **kw)

    async def login(
        self,
        login: str,
        password: str = "correct horse battery",
        expect: int | None = 201,
        **kw: Any,
    ) -> tuple[ClientResponse, Any]:
        """POST /sessions with a username (or an email, when it has an @)."""
        key = "email" if "@" in login else "username"
        return await self.call(
            "POST", "/api/v1/sessions", json={key: login, "password": password}, expect=expect, **kw
        )

    async def register(
        self, username: str, password: str = "correct horse battery", **extra: Any
    ) -> User:
        _, reg = await self.call(
            "POST",
            "/api/v1/accounts",
            json={
                "username": username,
                "email": f"{username}@example.org",
                "password": password,
                **extra,
            },
            expect=201,
        )
        _, login = await self.call(
            "POST",
            "/api/v1/sessions",
            json={"username": username, "password": password},
            expect=201,
        )
        return User(username, login["token"], reg["account"]["id"], reg["identity"]["id"], password)


def _status_and_headers(top: bytes) -> tuple[int, dict[str, str]]:
    """An answer's status and headers (lower-case names) from its head, the blank line cut."""
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@dataclass
class Trio:
    """One pod with three people on it: alice, bob and carol."""

    pod: Pod
    alice: User
    bob: User
    carol: User
