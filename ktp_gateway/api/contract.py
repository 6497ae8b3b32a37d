"""The OpenAPI contract: generated from the app, then made exact about errors and credentials.

The app installs it (`install`); `openapi.py` writes the committed document.

FastAPI describes errors as its own validation body under `application/json`; the gateway
answers every error as `application/problem+json` (RFC 9457), so each operation's 4xx/5xx
responses are rewritten to that, with a `4XX`/`5XX` catch-all. The committed `openapi.json` is
this document (`python -m ktp_gateway.api.openapi > openapi.json`); a test keeps them equal.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ktp_gateway.api.problem_model import ProblemOut

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
PROBLEM_MEDIA = "application/problem+json"
MTLS = "clientCertificate"
DESCRIPTION = (
    "Local REST API of ktp-gateway, versioned under `/v1`. Authenticate with the client's API "
    "key (`Authorization: Bearer` or `X-API-Key`) or its TLS client certificate. Every error "
    "is `application/problem+json` with a stable `code` (docs/errors.md). All examples are "
    "synthetic people (docs: Synthetic people)."
)


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA: {"schema": PROBLEM_REF}}}


def _fix_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        if status[0] in "45":
            responses[status] = _problem_response(response.get("description", "Problem"))
    responses.setdefault("4XX", _problem_response("Refused: see `code` and `hint`"))
    responses.setdefault("5XX", _problem_response("Failed: see `code` and `hint`"))
    if operation.get("security"):
        operation["security"].append({MTLS: []})


def _components(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    problem = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemOut"] = problem
    components.setdefault("securitySchemes", {})[MTLS] = {
        "type": "mutualTLS",
        "description": "a client certificate signed by the configured client CA",
    }


def contract(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app` as callers should read it."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION,
        routes=app.routes,
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            _fix_operation(operation)
    _components(schema)
    return schema


def install(app: FastAPI) -> None:
    """Serve the contract at /openapi.json instead of FastAPI's default document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
