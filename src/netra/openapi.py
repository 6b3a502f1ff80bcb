"""The OpenAPI document, completed: the errors each operation can answer, in PROTOCOL.md's
envelope, and the media types of the few answers that are not JSON.

FastAPI documents what a route declares: its success, and a 422 in its own validation
shape, which our error handler never sends. The errors come from shared machinery
(authentication, the body limits, rate limits, ownership checks), so they are added
here, by rule, for every operation, instead of on each route's decorator.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ENVELOPE = "ErrorEnvelope"
_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {}, "retry_after": {"type": "integer"}},
    }},
}
# Operations behind a rate limit (429 rate_limited; messages also 429 too_many_runs).
RATE_LIMITED = {
    ("post", "/api/auth/signup"), ("post", "/api/auth/login"), ("post", "/api/auth/ws-ticket"),
    ("post", "/api/threads/{thread_id}/messages"), ("post", "/api/ag-ui"),
    ("post", "/api/ingest/datasets"), ("post", "/api/ingest/{dataset_id}/records"),
    ("get", "/api/auth/oidc/{name}/login"),
}
# Operations that check credentials given in the body or header without a security scheme.
CREDENTIALS = {("post", "/api/auth/login"), ("post", "/api/auth/refresh"),
               ("post", "/api/auth/oidc/exchange"), ("post", "/api/ag-ui"), ("get", "/metrics")}
_MEMBER = "/api/organizations/{organization_id}/members/{user_id}"
CONFLICTS = {
    ("post", "/api/auth/signup"), ("patch", "/api/organizations/{organization_id}"),
    ("patch", _MEMBER), ("delete", _MEMBER), ("post", "/api/organizations/{organization_id}/leave"),
    ("post", "/api/organizations/{organization_id}/invitations"),
    ("delete", "/api/organizations/{organization_id}/invitations/{invitation_id}"),
    ("post", "/api/invitations/accept"),
}
ORGANIZATION_HEADER = "X-Netra-Organization"
# Operations that act in an organization named otherwise than by the header.
IN_ORGANIZATION = {("put", "/api/threads/{thread_id}/organization"),
                   ("post", "/api/invitations/accept"), ("post", "/api/ag-ui")}
NOT_JSON = {("get", "/metrics"): "text/plain", ("post", "/api/ag-ui"): "text/event-stream"}
UNAVAILABLE = {("get", "/health/ready"): "a dependency does not answer (same body)"}


def _errors(method: str, path: str, operation: dict[str, Any]) -> dict[int, str]:
    key = (method, path)
    errors: dict[int, str] = {}
    if method in ("post", "put", "patch"):
        errors[400] = "a body that is not what it says it is, e.g. JSON that is not UTF-8 " \
                      "(bad_request)"
    if operation.get("security") or key in CREDENTIALS:
        errors[401] = "missing, invalid or expired credentials (unauthorized)"
    organized = _in_organization(key, operation)
    if organized:
        errors[403] = "your role in the organization is too low for this, or it requires " \
                      "single sign-on (forbidden)"
    if "{" in path or organized:
        errors[404] = "no such resource, or another user's or organization's (not_found)"
    if key in CONFLICTS:
        errors[409] = "already exists (conflict)"
    if method in ("post", "put", "patch"):
        errors[413] = "the body is over its limit (too_large)"
    if method in ("post", "put", "patch") or operation.get("parameters"):
        errors[422] = "invalid parameters or body (validation_error)"
    if key in RATE_LIMITED:
        errors[429] = "over a rate limit (rate_limited, with Retry-After) or too many " \
                      "active runs (too_many_runs)"
    return errors


def _in_organization(key: tuple[str, str], operation: dict[str, Any]) -> bool:
    """Whether the operation acts in an organization (and so may answer 403 or 404)."""
    named = any(p.get("in") == "header" and p.get("name") == ORGANIZATION_HEADER
                for p in operation.get("parameters", ()))
    return named or key[1].startswith("/api/organizations") or key in IN_ORGANIZATION


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses and media types to a FastAPI OpenAPI document."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ENVELOPE] = _ENVELOPE_SCHEMA
    envelope = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ENVELOPE}"}}}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, description in _errors(method, path, operation).items():
                responses[str(status)] = {"description": description, "content": envelope}
            if (method, path) in UNAVAILABLE:
                responses["503"] = {"description": UNAVAILABLE[(method, path)]}
            if (method, path) in NOT_JSON:
                success = next(code for code in responses if code.startswith("2"))
                responses[success]["content"] = {NOT_JSON[(method, path)]: {
                    "schema": {"type": "string"}}}
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document at the app's openapi_url (built once)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
