"""Shares across pods over time: what the grantee's pod is told when the people behind a
share leave."""

from __future__ import annotations

from typing import Any

from federation.routes import FEDERATION
from node.appkeys import DB
from tests.support import Pod, User, wait_for

SHARING = "/api/v1/sharing"


async def _incoming(pod: Pod, user: User) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", f"{SHARING}/incoming", user, expect=200)
    return items


async def _delete_account(pod: Pod, user: User) -> None:
    await pod.call(
        "DELETE", "/api/v1/accounts/current", user, json={"password": user.password}, expect=204
    )


async def _alice_shares_with_carol(make_pod) -> tuple[Pod, Pod, User, User]:
    """alice@A shares all with carol@B; they know each other only through the share (no
    follow, no common space)."""
    a, b = await make_pod(), await make_pod()
    alice, carol = await a.register("alice"), await b.register("carol")
    await a.call(
        "POST", SHARING, alice, json={"shared_with": f"carol@{b.host}", "scope": "all"},
        expect=201,
    )  # fmt: skip
    await wait_for(lambda: _incoming(b, carol))
    return a, b, alice, carol


async def test_a_deleted_owner_s_shares_are_revoked_on_the_grantee_s_pod(make_pod) -> None:
    a, b, alice, carol = await _alice_shares_with_carol(make_pod)
    await _delete_account(a, alice)

    async def copy_gone() -> bool:
        return await _incoming(b, carol) == []

    await wait_for(copy_gone)


async def test_a_deleted_re_sharer_s_re_shares_are_revoked_on_the_grantee_s_pod(
    make_pod,
) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await a.register("bob")
    carol = await b.register("carol")
    _, parent = await a.call(
        "POST", SHARING, alice,
        json={"shared_with": bob.identity_id, "scope": "all", "can_share": True}, expect=201,
    )  # fmt: skip
    await a.call(
        "POST", SHARING, bob,
        json={"shared_with": f"carol@{b.host}", "scope": "all", "parent_id": parent["id"]},
        expect=201,
    )  # fmt: skip
    await wait_for(lambda: _incoming(b, carol))
    await _delete_account(a, bob)
    # The re-share died with bob on alice's pod; carol's pod hears of it.
    _, outgoing = await a.call("GET", f"{SHARING}/outgoing", alice, expect=200)
    assert outgoing == []

    async def copy_gone() -> bool:
        return await _incoming(b, carol) == []

    await wait_for(copy_gone)


async def test_a_deleted_grantee_leaves_the_owner_s_outgoing_shares(make_pod) -> None:
    a, b, alice, carol = await _alice_shares_with_carol(make_pod)
    await _delete_account(b, carol)

    async def outgoing_empty() -> bool:
        _, items = await a.call("GET", f"{SHARING}/outgoing", alice, expect=200)
        return items == []

    await wait_for(outgoing_empty)


async def test_a_share_with_someone_on_a_blocked_domain_or_gone_is_refused(make_pod) -> None:
    """Known from before, they can still be named; a share with them would never be sent,
    and after an unblock it would grant a pod that was never told of it."""
    a, b = await make_pod(), await make_pod()
    alice, carol = await a.register("alice"), await b.register("carol")
    handle = f"carol@{b.host}"
    _, found = await a.call("GET", "/api/v1/lookup", alice, params={"acct": handle}, expect=200)
    blocks = a.app[FEDERATION].blocks
    blocks.load({b.host})  # as `hearth domain block` stores it
    for target in (handle, found["id"]):
        resp, out = await a.call(
            "POST", SHARING, alice, json={"shared_with": target, "scope": "all"}
        )
        assert (resp.status, out["error"]) == (403, "domain_blocked"), target
    blocks.load(set())
    async with a.app[DB].transaction() as tx:  # carol's actor answered 410 since
        await tx.execute("UPDATE remote_actors SET gone_at = '2026-01-01T00:00:00.000Z'")
    # (By handle the pod looks carol up again, and finds her back.)
    body = {"shared_with": found["id"], "scope": "all"}
    await a.call("POST", SHARING, alice, json=body, expect=404)
    _, outgoing = await a.call("GET", f"{SHARING}/outgoing", alice, expect=200)
    assert outgoing == []
    assert await _incoming(b, carol) == []
