"""NodeInfo 2.0, 2.1 and 2.2 documents and the /.well-known/nodeinfo JRD, built from NodeFacts.

Pure: no I/O. The documents must validate against the schemas in nodeinfo/schemas/.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.config import NodeConfig
from node.version import API_VERSIONS, SOFTWARE, VERSION

VERSIONS: tuple[str, ...] = ("2.0", "2.1", "2.2")
SCHEMA_NS = "http://nodeinfo.diaspora.software/ns/schema/"
PROTOCOLS: tuple[str, ...] = ("activitypub",)

# The 2.0 schema's pattern for software.name (2.1 and 2.2 keep it).
_SOFTWARE_NAME_RE = re.compile(r"^[a-z0-9-]+$")
# 2.2 caps instance.name/description with `^.{0,N}$`; `.` matches no line terminator.
_LINE_BREAKS_RE = re.compile(r"\r\n|[\n\r\u2028\u2029]")
MAX_INSTANCE_NAME = 500
MAX_INSTANCE_DESCRIPTION = 5000


@dataclass(frozen=True)
class Usage:
    users_total: int = 0
    users_active_month: int = 0
    users_active_halfyear: int = 0
    local_posts: int = 0
    local_comments: int = 0


@dataclass(frozen=True)
class NodeFacts:
    """Everything the documents say, whatever their version."""

    version: str
    open_registrations: bool
    usage: Usage
    instance_name: str
    instance_description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    software: str = SOFTWARE
    repository: str | None = None
    homepage: str | None = None

    def __post_init__(self) -> None:
        if not _SOFTWARE_NAME_RE.match(self.software):
            raise ValueError(f"software name {self.software!r} must match [a-z0-9-]+")


def schema_url(version: str) -> str:
    """The schema id of a version, also the rel of its discovery link."""
    return f"{SCHEMA_NS}{version}"


def content_type(version: str) -> str:
    return f'application/json; profile="{schema_url(version)}#"'


def build_metadata(
    node_name: str,
    node_description: str,
    api_base_url: str,
    features: Sequence[str],
    api_versions: Sequence[str] = API_VERSIONS,
) -> dict[str, Any]:
    """The free-form `metadata` object: what clients need to talk to the local API."""
    return {
        "nodeName": node_name,
        "nodeDescription": node_description,
        "apiVersions": list(api_versions),
        "apiBaseUrl": api_base_url,
        "features": list(features),
    }


def facts_from_config(
    config: NodeConfig,
    usage: Usage,
    features: Sequence[str],
    api_base_url: str,
    repository: str | None = None,
    homepage: str | None = None,
) -> NodeFacts:
    instance = config.instance
    return NodeFacts(
        version=VERSION,
        open_registrations=instance.registration == "open",
        usage=usage,
        instance_name=instance.name,
        instance_description=instance.description,
        metadata=build_metadata(instance.name, instance.description, api_base_url, features),
        repository=repository,
        homepage=homepage,
    )


def _one_line(text: str, limit: int) -> str:
    return _LINE_BREAKS_RE.sub(" ", text)[:limit]


def document(facts: NodeFacts, version: str) -> dict[str, Any]:
    """The NodeInfo document of `version` (one of VERSIONS)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown NodeInfo version {version!r}")
    software: dict[str, str] = {"name": facts.software, "version": facts.version}
    if version != "2.0":  # repository and homepage arrived in 2.1
        if facts.repository:
            software["repository"] = facts.repository
        if facts.homepage:
            software["homepage"] = facts.homepage
    usage = facts.usage
    doc: dict[str, Any] = {
        "version": version,
        "software": software,
        "protocols": list(PROTOCOLS),
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": facts.open_registrations,
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.users_active_month,
                "activeHalfyear": usage.users_active_halfyear,
            },
            "localPosts": usage.local_posts,
            "localComments": usage.local_comments,
        },
        # A deep copy, so that a caller editing one document never changes the next.
        "metadata": copy.deepcopy(dict(facts.metadata)),
    }
    if version == "2.2":
        doc["instance"] = {
            "name": _one_line(facts.instance_name, MAX_INSTANCE_NAME),
            "description": _one_line(facts.instance_description, MAX_INSTANCE_DESCRIPTION),
        }
    return doc


def discovery(base_url: str) -> dict[str, Any]:
    """The /.well-known/nodeinfo JRD: one absolute link per version, oldest first."""
    base = base_url.rstrip("/")
    return {"links": [{"rel": schema_url(v), "href": f"{base}/nodeinfo/{v}"} for v in VERSIONS]}
