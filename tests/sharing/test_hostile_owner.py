"""A hostile owner pod shares with bob, then serves a shared-items collection that never ends.

Bob's pod walks the owner's collection with GETs signed by bob's key; a walk that would never
stop answers bob 502 promptly, after a bounded number of GETs. A well-formed collection of the
same owner is read in full, so a pod that refused every remote collection would fail here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from federation.convert import SHARE_CONTEXT
from federation.shared_items import MAX_PAGES
from tests.conftest import PodFactory
from tests.hostile import AS_CONTEXT, HostilePod, new_key
from tests.support import Pod, User

ITEMS = "/shares/1/items"


def _page(owner: HostilePod, path: str, items: list[str], nxt: str | None) -> dict[str, Any]:
    notes = [
        {"id": f"{owner.base}/notes/{text}", "type": "Note",
         "attributedTo": owner.actor("mallory"), "content": f"<p>{text}</p>"}
        for text in items
    ]  # fmt: skip
    page: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{owner.base}{path}",
        "type": "OrderedCollectionPage",
        "partOf": f"{owner.base}{ITEMS}",
        "orderedItems": notes,
    }
    if nxt is not None:
        page["next"] = f"{owner.base}{nxt}"
    return page


async def _shared_with_bob(pod: Pod, bob: User, owner: HostilePod) -> str:
    """Mallory grants bob a share of everything; the id of bob's copy of it."""
    bob_uri = f"{pod.url}/users/bob"
    share = {
        "id": f"{owner.base}/shares/1",
        "type": "Share",
        "attributedTo": owner.actor("mallory"),
        "to": [bob_uri],
        "scope": "all",
        "canRead": True,
        "sharedItems": f"{owner.base}{ITEMS}",
    }
    create = owner.activity("mallory", "Create", share, to=[bob_uri])
    create["@context"] = [*AS_CONTEXT, SHARE_CONTEXT]
    status, data = await owner.post(
        f"{pod.url}/users/bob/inbox", create, pod.clock.now(), signer="mallory"
    )
    assert status == 202, data
    _, incoming = await pod.call("GET", "/api/v1/sharing/incoming", bob, expect=200)
    return incoming[0]["id"]


@dataclass
class Grant:
    """Bob on a real pod, holding a share (`sid`) from mallory on a hostile owner pod."""

    pod: Pod
    bob: User
    owner: HostilePod
    sid: str

    async def read(self) -> tuple[int, Any]:
        """Bob's API call for the share's items, which must answer within a few seconds."""
        call = self.pod.call("GET", f"/api/v1/sharing/{self.sid}/items", self.bob)
        resp, data = await asyncio.wait_for(call, 10)
        return resp.status, data


@pytest.fixture
async def grant(make_pod: PodFactory) -> AsyncIterator[Grant]:
    owner = await HostilePod().start()
    try:
        owner.add_actor("mallory", new_key())
        pod = await make_pod()
        bob = await pod.register("bob")
        yield Grant(pod, bob, owner, await _shared_with_bob(pod, bob, owner))
    finally:
        await owner.close()


def _error(data: Any) -> str | None:
    return data.get("error") if isinstance(data, dict) else None


def _pages_fetched(owner: HostilePod) -> int:
    return sum(1 for r in owner.requests if r.startswith(f"GET {ITEMS}"))


async def test_a_well_formed_collection_is_read_in_full(grant: Grant) -> None:
    owner = grant.owner
    owner.documents[ITEMS] = {
        "@context": AS_CONTEXT, "id": f"{owner.base}{ITEMS}", "type": "OrderedCollection",
        "first": f"{owner.base}{ITEMS}/1",
    }  # fmt: skip
    owner.documents[f"{ITEMS}/1"] = _page(owner, f"{ITEMS}/1", ["one", "two"], f"{ITEMS}/2")
    owner.documents[f"{ITEMS}/2"] = _page(owner, f"{ITEMS}/2", [], f"{ITEMS}/3")
    owner.documents[f"{ITEMS}/3"] = _page(owner, f"{ITEMS}/3", ["three"], None)
    status, items = await grant.read()
    assert status == 200, items
    assert [i["body"] for i in items] == ["one", "two", "three"]
    assert _pages_fetched(owner) == 4


@pytest.mark.parametrize("link", ["next", "first"])
async def test_a_page_that_links_to_itself(grant: Grant, link: str) -> None:
    owner = grant.owner
    page = _page(owner, ITEMS, ["one"], None)
    page[link] = f"{owner.base}{ITEMS}"
    if link == "first":
        page["type"] = "OrderedCollection"
    owner.documents[ITEMS] = page
    status, data = await grant.read()
    assert (status, _error(data)) == (502, "owner_collection_broken")
    assert _pages_fetched(owner) == 1


class _Endless(dict[str, Any]):
    """Pages at ITEMS, ITEMS/1, ITEMS/2, ... without end, each linking to the next."""

    def __init__(self, owner: HostilePod, items: list[str]) -> None:
        super().__init__()
        self._owner = owner
        self._items = items

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (path == ITEMS or path.startswith(f"{ITEMS}/"))

    def __getitem__(self, path: str) -> dict[str, Any]:
        n = int(path.removeprefix(ITEMS).removeprefix("/") or 0)
        return _page(self._owner, path, self._items, f"{ITEMS}/{n + 1}")


@pytest.mark.parametrize("items", [[], ["same"]], ids=["empty", "one-item"])
async def test_a_chain_of_pages_that_never_ends(grant: Grant, items: list[str]) -> None:
    owner = grant.owner
    owner.documents = _Endless(owner, items)
    status, data = await grant.read()
    assert (status, _error(data)) == (502, "owner_collection_broken")
    assert _pages_fetched(owner) == MAX_PAGES


async def test_items_credited_to_another_pods_people_are_left_out(grant: Grant) -> None:
    """The owner's pod speaks for its own people: an item it says another pod's person wrote
    is neither listed nor shown alone."""
    owner = grant.owner
    page = _page(owner, ITEMS, ["mine", "forged"], None)
    page["orderedItems"][1]["attributedTo"] = "https://victim.example/users/alice"
    owner.documents[ITEMS] = page
    status, items = await grant.read()
    assert status == 200, items
    assert [i["body"] for i in items] == ["mine"]
    for note in page["orderedItems"]:
        owner.documents[note["id"].removeprefix(owner.base)] = {"@context": AS_CONTEXT, **note}
    url = f"/api/v1/sharing/{grant.sid}/item"
    for note, expected in zip(page["orderedItems"], (200, 404), strict=True):
        resp, _ = await grant.pod.call("GET", url, grant.bob, params={"item": note["id"]})
        assert resp.status == expected, note["id"]


async def test_pages_and_items_of_the_wrong_shape_are_refused_not_crashed_on(
    grant: Grant,
) -> None:
    """A page whose JSON-LD cannot be processed is a broken collection; items that are not a
    list are none; an item that cannot be processed is not found."""
    owner = grant.owner
    # Renames our `type`, so it needs JSON-LD, with a remote context that is never fetched.
    unprocessable = [*AS_CONTEXT, {"kind": "as:type", "@import": f"{owner.base}/ctx"}]
    owner.documents[ITEMS] = {**_page(owner, ITEMS, ["one"], None), "@context": unprocessable}
    status, data = await grant.read()
    assert (status, _error(data)) == (502, "owner_collection_broken")
    owner.documents[ITEMS] = {**_page(owner, ITEMS, [], None), "orderedItems": 7}
    status, items = await grant.read()
    assert (status, items) == (200, [])

    note = _page(owner, ITEMS, ["one"], None)["orderedItems"][0]
    owner.documents["/notes/one"] = {**note, "@context": unprocessable}
    url = f"/api/v1/sharing/{grant.sid}/item"
    resp, data = await grant.pod.call("GET", url, grant.bob, params={"item": note["id"]})
    assert (resp.status, _error(data)) == (404, "not_found")
    assert f"GET {owner.base}/ctx" not in owner.requests and "GET /ctx" not in owner.requests
    # Its twin, in plain ActivityStreams, is read.
    owner.documents["/notes/one"] = {**note, "@context": AS_CONTEXT}
    _, item = await grant.pod.call("GET", url, grant.bob, params={"item": note["id"]}, expect=200)
    assert item["body"] == "one"
