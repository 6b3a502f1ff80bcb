"""One exception hierarchy; each error carries the HTTP status and PROTOCOL.md code."""

from __future__ import annotations

from typing import Any


class NetraError(Exception):
    status = 400
    code = "bad_request"
    # Changes made in the transaction before this error are committed, not rolled back
    # (e.g. revoking a login on refresh-token reuse must survive the 401 it causes).
    keeps_changes = False

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(NetraError):
    status, code = 400, "bad_request"


class ValidationFailed(NetraError):
    status, code = 422, "validation_error"


class Unauthorized(NetraError):
    status, code = 401, "unauthorized"


class Forbidden(NetraError):
    status, code = 403, "forbidden"


class NotFound(NetraError):
    status, code = 404, "not_found"


class Conflict(NetraError):
    status, code = 409, "conflict"


class TooLarge(NetraError):
    status, code = 413, "too_large"


class RateLimited(NetraError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after  # whole seconds until a retry can succeed

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["retry_after"] = self.retry_after
        return body


class TooManyRuns(NetraError):
    status, code = 429, "too_many_runs"


class Unavailable(NetraError):
    status, code = 503, "unavailable"
