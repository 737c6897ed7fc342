"""The one error type of the pod: a status, a machine code and a message safe to show."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere below the handlers; the error middleware renders it as JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.status, "error": self.code, "message": self.message}
        if self.fields:
            out["fields"] = self.fields
        return out


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def unauthorized(message: str = "Authentication required.") -> ApiError:
    return ApiError(401, "not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(
    message: str = "You are not allowed to do this.", code: str = "forbidden"
) -> ApiError:
    return ApiError(403, code, message)


def insufficient_scope(scope: str, needed_to: str | None = None) -> ApiError:
    """403 for a token without `scope`; `needed_to` says what it was needed for."""
    why = f", needed to {needed_to}" if needed_to else ""
    return ApiError(403, "insufficient_scope", f"This token lacks the '{scope}' scope{why}.")


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found.")


def request_timeout() -> ApiError:
    return ApiError(408, "request_timeout", "The request body did not arrive in time.")


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


def validation(fields: dict[str, str], message: str = "Validation failed.") -> ApiError:
    return ApiError(422, "validation_failed", message, fields=fields)


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"Too many attempts; retry in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )
