"""NodeInfo over HTTP: discovery, schema validity, registration state and real usage counts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from node.appkeys import DB
from node.clock import iso
from node.ids import new_guid
from tests.conftest import PodFactory
from tests.support import Pod

SCHEMAS = Path(__file__).resolve().parents[2] / "nodeinfo" / "schemas"
VERSIONS = ("2.0", "2.1", "2.2")
NS = "http://nodeinfo.diaspora.software/ns/schema/"


def validate(doc: dict[str, Any], version: str) -> None:
    schema = json.loads((SCHEMAS / f"schema-{version}.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(doc)


async def nodeinfo(pod: Pod, version: str = "2.1") -> dict[str, Any]:
    _, doc = await pod.call("GET", f"/nodeinfo/{version}", expect=200)
    return doc


async def add_post(pod: Pod, author_guid: str, *, local: bool = True, reply: bool = False) -> None:
    guid = new_guid()
    now = iso(pod.clock.now())
    async with pod.app[DB].transaction() as tx:
        await tx.execute(
            "INSERT INTO posts (guid, author_guid, ap_id, local, body, html, visibility,"
            " in_reply_to_ap_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                guid,
                author_guid,
                f"{pod.url}/posts/{guid}",
                int(local),
                "hello",
                "<p>hello</p>",
                "public",
                "https://elsewhere.example/notes/1" if reply else None,
                now,
                now,
            ),
        )


async def test_discovery_links_every_version_absolutely(pod: Pod) -> None:
    resp, doc = await pod.call("GET", "/.well-known/nodeinfo", expect=200)
    assert resp.content_type == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert doc == {
        "links": [{"rel": f"{NS}{v}", "href": f"{pod.url}/nodeinfo/{v}"} for v in VERSIONS]
    }
    for link in doc["links"]:
        async with pod.http.get(link["href"]) as followed:
            assert followed.status == 200


@pytest.mark.parametrize("version", VERSIONS)
async def test_documents_validate_against_their_schema(pod: Pod, version: str) -> None:
    resp, doc = await pod.call("GET", f"/nodeinfo/{version}", expect=200)
    assert resp.headers["Content-Type"] == f'application/json; profile="{NS}{version}#"'
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    validate(doc, version)
    assert doc["version"] == version
    assert doc["software"]["name"] == "hearth"
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is True
    meta = doc["metadata"]
    assert meta["nodeName"] == pod.config.instance.name
    assert meta["apiVersions"] == ["v1"]
    assert meta["apiBaseUrl"] == f"{pod.url}/api/v1"
    assert {"accounts", "posts", "sharing", "media", "spaces", "webfinger"} <= set(meta["features"])


async def test_instance_block_only_in_2_2(make_pod: PodFactory) -> None:
    pod = await make_pod(instance={"name": "Ember", "description": "Warm\nand small"})
    doc = await nodeinfo(pod, "2.2")
    validate(doc, "2.2")
    assert doc["instance"] == {"name": "Ember", "description": "Warm and small"}
    assert doc["metadata"]["nodeDescription"] == "Warm\nand small"
    assert "instance" not in await nodeinfo(pod, "2.1")


async def test_unknown_version_is_404(pod: Pod) -> None:
    await pod.call("GET", "/nodeinfo/1.0", expect=404)
    await pod.call("GET", "/nodeinfo/2.3", expect=404)


@pytest.mark.parametrize("registration", ["closed", "invite"])
async def test_registrations_not_open(make_pod: PodFactory, registration: str) -> None:
    pod = await make_pod(instance={"registration": registration})
    for version in VERSIONS:
        doc = await nodeinfo(pod, version)
        validate(doc, version)
        assert doc["openRegistrations"] is False


async def test_usage_counts_are_real(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    await add_post(pod, alice.identity_id)
    await add_post(pod, alice.identity_id)
    await add_post(pod, bob.identity_id)
    await add_post(pod, bob.identity_id, reply=True)
    await add_post(pod, alice.identity_id, local=False)  # a remote copy counts for no one
    await add_post(pod, alice.identity_id, local=False, reply=True)

    for version in VERSIONS:
        doc = await nodeinfo(pod, version)
        validate(doc, version)
        assert doc["usage"] == {
            "users": {"total": 2, "activeMonth": 2, "activeHalfyear": 2},
            "localPosts": 3,
            "localComments": 1,
        }


async def test_active_users_follow_the_clock_and_the_cache_expires(pod: Pod) -> None:
    await pod.register("alice")
    await pod.register("bob")
    assert (await nodeinfo(pod))["usage"]["users"] == {
        "total": 2,
        "activeMonth": 2,
        "activeHalfyear": 2,
    }

    # Within the cache's 60 s a new account is not counted yet...
    carol = await pod.register("carol")
    assert (await nodeinfo(pod))["usage"]["users"]["total"] == 2
    # ...and is once the cache has expired on the pod's clock.
    pod.clock.advance(timedelta(seconds=61))
    assert (await nodeinfo(pod))["usage"]["users"]["total"] == 3

    pod.clock.advance(timedelta(days=40))
    # Carol comes back; the others stay away past 30 days.
    await pod.call("GET", "/api/v1/accounts/current", carol, expect=200)
    pod.clock.advance(timedelta(seconds=61))
    assert (await nodeinfo(pod))["usage"]["users"] == {
        "total": 3,
        "activeMonth": 1,
        "activeHalfyear": 3,
    }

    pod.clock.advance(timedelta(days=200))
    assert (await nodeinfo(pod))["usage"]["users"] == {
        "total": 3,
        "activeMonth": 0,
        "activeHalfyear": 0,
    }
