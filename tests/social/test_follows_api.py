"""Follows through the local API: what a target may be, and follow requests of locked identities."""

from __future__ import annotations

import pytest

from tests.support import Trio

API = "/api/v1"

# Each names no host a URL could be built on; once these failed deep in the HTTP client (500).
NOT_HOSTS = [
    "alice@[::1",
    "alice@.",
    "alice@a..b",
    "alice@" + "a" * 64 + ".org",  # a label longer than DNS allows
    "alice@host:99999",
    "alice@host:port",
    "alice@ex ample.org",
    "alice@exa\tmple.org",
    "alice@user@host",
    "alice@%65vil.org",
]


@pytest.mark.parametrize("target", NOT_HOSTS)
async def test_handles_naming_no_host_are_refused(trio: Trio, target: str) -> None:
    pod, bob = trio.pod, trio.bob
    resp, out = await pod.call("POST", f"{API}/follows", bob, json={"target": target})
    assert resp.status == 422, out
    assert "target" in out["fields"]
    resp, out = await pod.call("GET", f"{API}/lookup", bob, params={"acct": target})
    assert resp.status == 422, out


async def test_own_host_spelt_otherwise_is_this_pod(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    host = pod.host.upper().replace("127.0.0.1", "127.0.0.1.")  # a trailing dot, upper case
    _, out = await pod.call(
        "POST", f"{API}/follows", bob, json={"target": f"alice@{host}"}, expect=201
    )
    assert out["identity"]["id"] == alice.identity_id
    assert out["state"] == "accepted"
