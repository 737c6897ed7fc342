from __future__ import annotations

from pydantic import Field

from node.models.base import ApiModel


class VersionOut(ApiModel):
    software: str
    version: str
    api_versions: list[str]


class MetricsOut(ApiModel):
    uptime_seconds: float = Field(description="Since this process started serving")
    requests: dict[str, int] = Field(
        description="Answers given since start, by status class (`2xx`, `4xx`, ...)"
    )
    deliveries: dict[str, int] = Field(
        description="Outgoing deliveries not yet delivered: `pending`, `running`, `dead`"
    )
    paused_hosts: int = Field(description="Remote hosts whose deliveries are paused")
    database_bytes: int = Field(description="Size of the database file")


class HealthOut(ApiModel):
    status: str
    database: str
    queue_depth: int | None
