"""Every request body the API accepts refuses unknown fields, down to its nested objects.

Read from the contract: a pydantic model with `extra="forbid"` is an object schema with
`additionalProperties: false`, so a body model (or a model inside one) without it shows here.
"""

from __future__ import annotations

from typing import Any

from ktp_gateway.api.app import create_app


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def test_every_body_object_forbids_unknown_fields() -> None:
    contract = create_app().openapi()
    schemas = contract["components"]["schemas"]
    bodies = [
        operation["requestBody"]
        for path in contract["paths"].values()
        for operation in path.values()
        if "requestBody" in operation
    ]
    assert len(bodies) >= 4
    pending, seen = set().union(*(_refs(body) for body in bodies)), set()
    while pending:
        name = pending.pop()
        seen.add(name)
        pending |= _refs(schemas[name]) - seen
    loose = [
        name
        for name in sorted(seen)
        if schemas[name].get("type") == "object"
        and schemas[name].get("additionalProperties") is not False
    ]
    assert loose == []
