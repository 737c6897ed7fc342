"""The pure NodeInfo builders: every version from one set of facts, valid against its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from node.config import build_config
from node.version import VERSION
from nodeinfo.documents import (
    VERSIONS,
    NodeFacts,
    Usage,
    build_metadata,
    content_type,
    discovery,
    document,
    facts_from_config,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "nodeinfo" / "schemas"
FEATURES = ["accounts", "identities", "sessions", "webfinger", "nodeinfo"]
USAGE = Usage(
    users_total=5, users_active_month=2, users_active_halfyear=4, local_posts=9, local_comments=3
)


def schema_errors(doc: dict[str, Any], version: str) -> list[str]:
    schema = json.loads((SCHEMAS / f"schema-{version}.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [e.message for e in validator.iter_errors(doc)]


def facts(**changes: Any) -> NodeFacts:
    values: dict[str, Any] = {
        "version": "1.2.3",
        "open_registrations": True,
        "usage": USAGE,
        "instance_name": "Ember",
        "instance_description": "A small pod",
        "metadata": build_metadata("Ember", "A small pod", "https://e.example/api/v1", FEATURES),
        "repository": "https://git.example/hearth",
        "homepage": "https://hearth.example",
    }
    values.update(changes)
    return NodeFacts(**values)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_validates(version: str) -> None:
    doc = document(facts(), version)
    assert schema_errors(doc, version) == []
    assert doc["version"] == version
    assert doc["software"]["name"] == "hearth"
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["usage"] == {
        "users": {"total": 5, "activeMonth": 2, "activeHalfyear": 4},
        "localPosts": 9,
        "localComments": 3,
    }


def test_version_specific_fields() -> None:
    v20, v21, v22 = (document(facts(), v) for v in VERSIONS)
    # 2.0 has no repository/homepage (its schema forbids extra software keys).
    assert v20["software"] == {"name": "hearth", "version": "1.2.3"}
    assert v21["software"]["repository"] == "https://git.example/hearth"
    assert v21["software"]["homepage"] == "https://hearth.example"
    assert "instance" not in v20 and "instance" not in v21
    assert v22["instance"] == {"name": "Ember", "description": "A small pod"}


def test_optional_software_links_are_left_out() -> None:
    doc = document(facts(repository=None, homepage=""), "2.1")
    assert doc["software"] == {"name": "hearth", "version": "1.2.3"}


def test_instance_fields_fit_the_2_2_patterns() -> None:
    doc = document(
        facts(instance_name="N\u2028" + "n" * 600, instance_description="line\r\nline\n" * 999),
        "2.2",
    )
    assert schema_errors(doc, "2.2") == []
    assert len(doc["instance"]["name"]) == 500
    assert "\n" not in doc["instance"]["description"]
    assert len(doc["instance"]["description"]) == 5000


def test_metadata() -> None:
    meta = document(facts(), "2.0")["metadata"]
    assert meta == {
        "nodeName": "Ember",
        "nodeDescription": "A small pod",
        "apiVersions": ["v1"],
        "apiBaseUrl": "https://e.example/api/v1",
        "features": FEATURES,
    }


def test_documents_do_not_share_metadata() -> None:
    f = facts()
    document(f, "2.1")["metadata"]["features"].append("oops")
    assert "oops" not in document(f, "2.1")["metadata"]["features"]


def test_software_name_must_fit_the_schema() -> None:
    with pytest.raises(ValueError):
        facts(software="Hearth Pod")


def test_unknown_version() -> None:
    with pytest.raises(ValueError):
        document(facts(), "1.0")


@pytest.mark.parametrize(("registration", "is_open"), [("open", True), ("invite", False)])
def test_facts_from_config(registration: str, is_open: bool) -> None:
    config = build_config(
        {"instance": {"name": "Ember", "description": "Warm", "registration": registration}},
        env={},
    )
    f = facts_from_config(config, USAGE, FEATURES, "http://127.0.0.1:8080/api/v1")
    assert f.open_registrations is is_open
    assert f.version == VERSION
    assert f.usage == USAGE
    assert (f.instance_name, f.instance_description) == ("Ember", "Warm")
    assert f.metadata["nodeName"] == "Ember"
    assert f.metadata["features"] == FEATURES
    for version in VERSIONS:
        assert schema_errors(document(f, version), version) == []


def test_discovery_and_content_type() -> None:
    assert discovery("https://e.example/") == {
        "links": [
            {
                "rel": f"http://nodeinfo.diaspora.software/ns/schema/{v}",
                "href": f"https://e.example/nodeinfo/{v}",
            }
            for v in VERSIONS
        ]
    }
    assert content_type("2.2") == (
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.2#"'
    )
