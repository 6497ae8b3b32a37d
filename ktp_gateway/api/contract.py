"""The OpenAPI contract: generated from the app, then made exact about errors and credentials.

The app installs it (`install`); `openapi.py` writes the committed document.

FastAPI describes errors as its own validation body under `application/json`; the gateway
answers every error as `application/problem+json` (RFC 9457), so each operation's 4xx/5xx
responses are rewritten to that, with a `4XX`/`5XX` catch-all. The committed `openapi.json` is
this document (`python -m ktp_gateway.api.openapi > openapi.json`); a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from ktp_gateway.api import examples
from ktp_gateway.api.auth import API_KEY_SCHEMES, security_schemes
from ktp_gateway.api.known_keys import KnownKeys
from ktp_gateway.api.problem_model import ProblemOut
from ktp_gateway.api.routes.events import EVENT_FRAME, ReaderEventData

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
PROBLEM_MEDIA = "application/problem+json"
MTLS = "clientCertificate"
DESCRIPTION = (
    "Local REST API of ktp-gateway, versioned under `/v1`. Authenticate with the client's API "
    "key (`Authorization: Bearer` or `X-API-Key`) or its TLS client certificate. Every error "
    "is `application/problem+json` with a stable `code` (docs/errors.md). All examples are "
    "synthetic people (docs: Synthetic people)."
)


# Readable, stable names for generated clients (`createNikLookup`, not the framework's
# `create_lookup_v1_nik_lookups_post`), by route function; a new route must be named here.
OPERATION_IDS = {
    "healthz": "getHealth",
    "whoami": "getCaller",
    "get_agreement": "getAgreement",
    "list_readers": "listReaders",
    "reader_events": "streamReaderEvents",
    "create_verification": "createVerification",
    "get_job": "getVerification",
    "cancel_job": "cancelVerification",
    "verify_claims": "createClaimsVerification",
    "create_lookup": "createNikLookup",
    "queue_return_data": "queueReturnData",
    "list_return_data": "listReturnData",
    "get_return_data": "getReturnData",
    "retry_return_data": "retryReturnData",
    "list_desks": "listDesks",
    "get_desk": "getDesk",
}
SERVERS = [
    {
        "url": "http://127.0.0.1:8600",
        "description": "the gateway on its default loopback bind; an access point serves HTTPS "
        "at its own address (docs/calling-the-gateway.md)",
    }
]
LICENSE = {"name": "Apache 2.0", "identifier": "Apache-2.0"}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "How to authenticate: `Bearer` with the client's API key",
        "schema": {"type": "string"},
    }
}
_LOCATION = {
    "Location": {
        "description": "The job to poll: `GET` it (long-poll with `?wait=`)",
        "schema": {"type": "string"},
    }
}
INVALID = (
    "Invalid request: `invalid_request` (see `errors`), `invalid_nik` or `accountability_required`"
)


def operation_id(route: APIRoute) -> str:
    """The operationId of a route (the app's `generate_unique_id_function`); a route left out
    of the contract (`/metrics`) gets its name in camelCase."""
    first, *rest = route.name.split("_")
    return OPERATION_IDS.get(route.name) or first + "".join(part.title() for part in rest)


def _problem_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA: {"schema": PROBLEM_REF}},
    }
    if headers:
        response["headers"] = headers
    return response


def _secured(routers: Iterable[APIRouter]) -> set[tuple[str, str]]:
    """(path, method) of every operation of the routers the app includes with `authenticate`."""
    return {
        (route.path_format, method.lower())
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


def _fix_operation(operation: dict[str, Any], *, secured: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        if status == "422":
            responses[status] = _problem_response(INVALID)
        elif status[0] in "45":
            responses[status] = _problem_response(response.get("description", "Problem"))
    if secured:
        operation["security"] = [{name: []} for name in [*API_KEY_SCHEMES, MTLS]]
        responses["401"] = _problem_response(
            "`unauthorized`: no valid API key or client certificate", _CHALLENGE
        )
        responses["429"] = _problem_response(
            "`rate_limited`: this client, officer or address is over its rate", _RETRY_AFTER
        )
    else:
        operation["security"] = []  # open on purpose (liveness), said explicitly
    responses["503"] = _problem_response(
        "Unavailable for now (a dependency, the connection cap, the agreement's standing): "
        "see `code`; `Retry-After` when waiting helps",
        _RETRY_AFTER,
    )
    if "202" in responses and operation.get("operationId") == "createVerification":
        responses["202"]["headers"] = _LOCATION
    responses.setdefault("4XX", _problem_response("Refused: see `code` and `hint`"))
    responses.setdefault("5XX", _problem_response("Failed: see `code` and `hint`"))


def _schema_name(media: dict[str, Any]) -> str | None:
    ref = media.get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _examples(operation: dict[str, Any]) -> None:
    """An example on every request and response body (`examples.py`: synthetic people)."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        media["example"] = examples.REQUESTS[_schema_name(media) or ""]
    for status, response in operation.get("responses", {}).items():
        for media_type, media in response.get("content", {}).items():
            if media_type == PROBLEM_MEDIA:
                family = status if status in examples.PROBLEMS else f"{status[0]}XX"
                media["example"] = examples.PROBLEMS[family]
                if status == "4XX":
                    media["example"] = examples.REFUSALS.get(
                        operation.get("operationId", ""), media["example"]
                    )
            elif status == "202" and operation.get("operationId") == "createVerification":
                media["example"] = examples.ACCEPTED_JOB
            elif "example" not in media:
                media["example"] = examples.RESPONSES[_schema_name(media) or ""]


def _refs(node: Any) -> Iterator[str]:
    """The component names `node` refers to, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _closure(roots: Iterable[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            pending.extend(_refs(schemas[name]))
    return seen


def _required_outputs(schema: dict[str, Any]) -> None:
    """Response-only objects list every property as required: the gateway always sends every
    key (null where nothing is released), so a client need not handle "absent" as well."""
    schemas = schema.get("components", {}).get("schemas", {})
    inputs: list[str] = []
    outputs: list[str] = []
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            inputs += _refs(operation.get("requestBody", {}))
            inputs += _refs(operation.get("parameters", []))
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    outputs += _refs(response)
    sparse = {model.__name__ for model in KnownKeys.__subclasses__()}  # keys absent, not null
    for name in _closure(outputs, schemas) - _closure(inputs, schemas) - sparse:
        properties = schemas[name].get("properties")
        if properties:
            schemas[name]["required"] = list(properties)


_ERROR_CODE = "#/components/schemas/ErrorCode"
_TEXT = {"type": "string"}
OPEN_CODE = {"anyOf": [{"$ref": _ERROR_CODE}, _TEXT]}


def _open_codes(node: Any) -> None:
    """Every other error code in a response is open too (`ReturnDataReceipt.code`): a client
    generated today keeps a code added later instead of failing to parse the answer."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and value.get("$ref") == _ERROR_CODE:
                node[key] = {**OPEN_CODE, **{k: v for k, v in value.items() if k != "$ref"}}
            elif key == "anyOf" and {"$ref": _ERROR_CODE} in value and _TEXT not in value:
                value.insert(value.index({"$ref": _ERROR_CODE}) + 1, _TEXT)
            else:
                _open_codes(value)
    elif isinstance(node, list):
        for item in node:
            _open_codes(item)


def _components(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    problem = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    # Open for clients: codes are added in minor releases; a generated client keeps an unknown
    # one as a string instead of failing to parse the problem.
    problem["properties"]["code"] = {
        "anyOf": [{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}],
        "title": "Code",
        "description": "The stable code (docs/errors.md): one of ErrorCode today; later "
        "releases add codes, so keep an unknown one rather than fail.",
    }
    schemas["ProblemOut"] = problem
    events = ReaderEventData.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(events.pop("$defs", {}))
    schemas["ReaderEventData"] = events  # the event stream's data (routes/events.py)
    schemas["ReaderEventFrame"] = EVENT_FRAME
    for schema in schemas.values():
        _open_codes(schema)
    schemes = components.setdefault("securitySchemes", {})
    schemes.update(security_schemes())
    schemes[MTLS] = {
        "type": "mutualTLS",
        "description": "a client certificate signed by the configured client CA",
    }


def _reading_order(paths: dict[str, Any], routers: Sequence[APIRouter]) -> dict[str, Any]:
    """The paths in the order of `routers` (the app matches them in another order, for speed);
    a path of no router there (health) stays ahead, as included."""
    rank = {
        route.path_format: index
        for index, router in enumerate(routers)
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    ordered = sorted(enumerate(paths), key=lambda item: (rank.get(item[1], -1), item[0]))
    return {path: paths[path] for _, path in ordered}


def contract(app: FastAPI, *, secured: Sequence[APIRouter]) -> dict[str, Any]:
    """The OpenAPI document of `app` as callers should read it; `secured`: the routers whose
    operations need a credential (API key or client certificate), in the contract's order."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION,
        routes=app.routes,
        servers=SERVERS,
        license_info=LICENSE,
    )
    schema["paths"] = _reading_order(schema.get("paths", {}), secured)
    operations_secured = _secured(secured)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _fix_operation(operation, secured=(path, method) in operations_secured)
            _examples(operation)
    _required_outputs(schema)  # before ProblemOut joins: its `errors` is sent for 422 only
    _components(schema)
    return schema


def install(app: FastAPI, *, secured: Sequence[APIRouter]) -> None:
    """Serve the contract at /openapi.json instead of FastAPI's default document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract(app, secured=secured)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
