from __future__ import annotations

from node.models.base import ApiModel


class VersionOut(ApiModel):
    software: str
    version: str
    api_versions: list[str]


class HealthOut(ApiModel):
    status: str
    database: str
    queue_depth: int | None
