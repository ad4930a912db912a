"""The error answers every API operation can give, added to the OpenAPI schema (issue 17 item 5).

A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds, to
every operation that does not document them itself, the errors that the shared machinery gives
whatever the view: 401 and 403 (authentication, roles, CSRF for sessions), 503 (the database is
unavailable, core/db_outage.py), 404 where there is something to be missing (a path parameter,
a page number or cursor), 400 where a client sends something to validate (a body or query
parameters), and 413/415 where there is a body (upload limit, parser). Codes only some views
give (409, 412, 429) are listed per operation in SPECIFIC below, next to the common ones.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

ERROR = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error has `detail`; a 400 also names each bad field with its "
    "messages, or lists `missing` fields of a transition.",
    "properties": {
        "detail": {"type": "string"},
        "missing": {"type": "array", "items": {"type": "string"}},
        # With missing "tasks": the open required tasks (issue 20).
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
            },
        },
    },
    "required": ["detail"],
    "additionalProperties": True,
}
BODY_METHODS = {"post", "put", "patch"}
PAGING = {"page", "cursor"}  # a page or cursor that does not exist is a 404
# Codes only some operations give: (method, path suffix) -> {code: description}.
SPECIFIC: dict[tuple[str, str], dict[str, str]] = {
    ("patch", "/api/incidents/{reference}/"): {
        "409": "The incident is closed or dismissed.",
        "412": "If-Match names an older version.",
    },
    ("post", "/transitions/{name}/"): {
        "409": "Not allowed from the current state.",
        "412": "If-Match names an older version.",
    },
    ("post", "/acknowledge/"): {"409": "The incident is closed or dismissed."},
    ("post", "/tasks/"): {"409": "The incident is closed or dismissed."},
    ("patch", "/tasks/{id}/"): {
        "409": "The incident is closed or dismissed.",
        "412": "If-Match names an older version.",
    },
    ("delete", "/tasks/{id}/"): {
        "409": "The incident is closed or dismissed, or the task is a runbook's required one.",
        "412": "If-Match names an older version.",
    },
    # The post-incident review and its follow-ups (issue 20, incidents/api/review.py).
    ("put", "/review/"): {
        "409": "The incident is not restored yet, or the finished review may not change so.",
        "412": "If-Match names an older version.",
    },
    ("post", "/follow-ups/"): {"409": "The incident is not restored yet."},
    ("patch", "/follow-ups/{id}/"): {"412": "If-Match names an older version."},
    ("post", "/api/auth/token/"): {"429": "Too many failed sign-ins; wait Retry-After."},
}


class ErrorSerializer(serializers.Serializer):
    """For views that declare a specific error code: ``responses={409: ErrorSerializer}``."""

    detail = serializers.CharField()


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """The hook: drf-spectacular calls it with the finished schema and uses what it returns."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in BODY_METHODS | {"get", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            params = operation.get("parameters", [])
            has_query = any(p.get("in") == "query" for p in params)
            has_path = "{" in path
            paged = any(p.get("in") == "query" and p.get("name") in PAGING for p in params)
            wanted = {
                "401": "Not signed in, or the token is unknown or expired.",
                "403": "Your role may not do this (or a session request without its CSRF token).",
                "503": "The database is unavailable; try again after Retry-After.",
            }
            if has_path or paged:
                wanted["404"] = "Not found (or not visible to you), or no such page."
            if has_query or "requestBody" in operation:
                wanted["400"] = "Invalid input: the bad fields, each with its messages."
            if method in BODY_METHODS:
                wanted["413"] = "The request body is larger than the server accepts."
                wanted["415"] = "The body is not of a media type this operation reads."
            for (m, suffix), codes in SPECIFIC.items():
                if m == method and path.endswith(suffix):
                    wanted.update(codes)
            for code, description in wanted.items():
                responses.setdefault(code, _error(description))
    return result
