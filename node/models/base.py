"""Base classes of the API's request and response models (the source of the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Response shape: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ApiInput(BaseModel):
    """Request body: camelCase on the wire, strict types, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )


class ErrorBody(ApiModel):
    code: int
    error: str
    message: str
    fields: dict[str, str] | None = None
