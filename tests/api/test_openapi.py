"""The contract: openapi.json is committed, equals the running app's, and its examples are fake."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.api.contract import OPERATION_IDS
from ktp_gateway.api.openapi import render
from ktp_gateway.errors import ErrorCode
from ktp_gateway_dev.simulators.population import load_population

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "regenerate it: .venv/bin/python -m ktp_gateway.api.openapi > openapi.json"
FAKE_MARKERS = ("CONTOH", "SAMPEL", "PERCOBAAN", "UJICOBA", "FIKTIF")


def _examples(node: Any, owner: str = "") -> Iterator[tuple[str, Any]]:
    """(property name, example value) for every example in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples":
                for example in value if isinstance(value, list) else value.values():
                    yield owner, example
            elif key == "example":
                yield owner, value
            else:
                yield from _examples(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item, owner)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_committed_contract_is_the_apps() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(create_app()), REGENERATE


def test_the_running_app_serves_the_committed_contract() -> None:
    served = TestClient(create_app()).get("/openapi.json")  # static: no lifespan needed
    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_every_route_is_versioned_and_every_error_is_a_problem() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for path, operations in contract["paths"].items():
        assert path == "/healthz" or path.startswith("/v1/"), path
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], path


def test_examples_are_synthetic() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    niks = {person.nik for person in load_population().people}
    seen_names = 0
    for owner, example in _examples(contract):
        for text in _strings(example):
            for nik in re.findall(r"\d{16}", text):
                assert nik in niks, f"example NIK {nik} is not a synthetic person's"
        if owner.startswith("nama"):  # a person's name: must carry a fictional marker
            seen_names += 1
            assert any(marker in str(example).upper() for marker in FAKE_MARKERS), example
    assert seen_names >= 3


def _operations(contract: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in contract["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_operation_has_a_readable_stable_id_a_generated_client_can_use() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    ids = [operation["operationId"] for _, _, operation in _operations(contract)]
    assert sorted(ids) == sorted(OPERATION_IDS.values())  # each named once, in contract.py
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", name) for name in ids), ids
    lookup = contract["paths"]["/v1/nik-lookups"]["post"]
    assert lookup["operationId"] == "createNikLookup"


def test_the_document_names_its_server_its_licence_and_the_one_open_route() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert contract["servers"][0]["url"] == "http://127.0.0.1:8600"
    assert contract["info"]["license"]["identifier"] == "Apache-2.0"
    assert contract["paths"]["/healthz"]["get"]["security"] == []


def test_headers_the_docs_tell_clients_to_read_are_in_the_contract() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for method, path, operation in _operations(contract):
        responses = operation["responses"]
        assert "Retry-After" in responses["503"]["headers"], (method, path)
        if operation["security"]:
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
        if "422" in responses:
            assert "invalid_nik" in responses["422"]["description"]
            assert "accountability_required" in responses["422"]["description"]
    accepted = contract["paths"]["/v1/verifications"]["post"]["responses"]["202"]
    assert "Location" in accepted["headers"]


def test_a_repeated_return_data_item_is_a_documented_success() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    responses = contract["paths"]["/v1/return-data"]["post"]["responses"]
    item = {"$ref": "#/components/schemas/ReturnDataItem"}
    for status in ("200", "202"):
        assert responses[status]["content"]["application/json"]["schema"] == item


def test_the_error_code_is_open_to_codes_a_later_release_adds() -> None:
    schemas = json.loads(COMMITTED.read_text(encoding="utf-8"))["components"]["schemas"]
    code = schemas["ProblemOut"]["properties"]["code"]
    assert code["anyOf"] == [{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}]
    assert schemas["Health"]["properties"]["status"] == {
        "$ref": "#/components/schemas/HealthStatus"
    }
    assert schemas["HealthStatus"]["enum"] == ["ok", "degraded"]
    receipt = schemas["ReturnDataReceipt"]["properties"]["code"]["anyOf"]
    assert receipt[:2] == code["anyOf"]  # open as well


def _inline_enums(node: object, path: str) -> list[str]:
    """Where an enum is spelled out inside another schema instead of named."""
    found: list[str] = []
    if isinstance(node, dict):
        if "enum" in node and "/properties/" in path:
            found.append(path)
        for key, value in node.items():
            found += _inline_enums(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _inline_enums(value, f"{path}[{index}]")
    return found


def test_every_enum_and_known_key_object_is_a_named_component() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    schemas = contract["components"]["schemas"]
    assert _inline_enums(schemas, "") == []
    free_maps = [
        f"{name}.{key}"
        for name, schema in schemas.items()
        for key, value in schema.get("properties", {}).items()
        if isinstance(value, dict) and isinstance(value.get("additionalProperties"), dict)
    ]
    assert free_maps == []  # keys from a known set are named properties, not a free map
    for name in ("ReaderFamily", "SamState", "VerificationMode", "DeskState", "NikSource"):
        assert schemas[name]["type"] == "string" and schemas[name]["enum"], name
    comparison = schemas["FieldComparison"]
    assert set(comparison["properties"]) == {
        "nik", "nama_lengkap", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
        "status_perkawinan", "jenis_pekerjaan", "nama_ibu_kandung", "nama_ayah", "alamat",
    }  # fmt: skip
    assert comparison["additionalProperties"] is False and "required" not in comparison
    assert "nik" not in schemas["ClaimResults"]["properties"]  # the key, never a claim
    assert schemas["ClaimThresholds"]["required"] == ["name", "text"]
    assert schemas["ReturnDataCounts"]["required"] == ["pending", "delivering", "dead"]
    assert set(schemas["AddressPartScores"]["properties"]) >= {"rt", "rw", "kelurahan"}


def test_the_event_stream_declares_its_media_type_and_event_shapes() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    ok = contract["paths"]["/v1/events"]["get"]["responses"]["200"]
    stream = ok["content"]["text/event-stream"]
    frame = {"$ref": "#/components/schemas/ReaderEventFrame"}
    assert stream["schema"]["contentSchema"]["items"] == frame and stream["x-itemSchema"] == frame
    schemas = contract["components"]["schemas"]
    data = schemas["ReaderEventFrame"]["properties"]["data"]["contentSchema"]
    assert data == {"$ref": "#/components/schemas/ReaderEventData"}
    assert schemas["ReaderEventData"]["required"] == ["seq", "kind", "at"]
    assert "card_inserted" in schemas["EventKind"]["enum"]
    assert "event: card_inserted\ndata: {" in stream["example"]


def test_answers_list_every_key_as_required_and_requests_keep_their_defaults() -> None:
    schemas = json.loads(COMMITTED.read_text(encoding="utf-8"))["components"]["schemas"]
    for name in ("ReleasedPerson", "Address", "NikLookupResponse", "JobOut", "Source"):
        assert schemas[name]["required"] == list(schemas[name]["properties"]), name
    lookup = schemas["NikLookupRequest"]
    assert "include_photo" not in lookup.get("required", [])  # a request may leave it out
    assert "errors" not in schemas["ProblemOut"]["required"]  # sent with invalid_request only


def test_return_data_numbers_carry_the_same_format_as_the_lookups() -> None:
    schemas = json.loads(COMMITTED.read_text(encoding="utf-8"))["components"]["schemas"]
    lookup = schemas["NikLookupRequest"]["properties"]["nomor_register"]["anyOf"][0]["pattern"]
    submission = schemas["ReturnDataSubmission"]["properties"]
    assert submission["nomor_register"]["pattern"] == lookup
    assert submission["nomor_sk_rapat_paripurna"]["pattern"].endswith("{0,99}$")


def test_every_request_and_response_body_has_an_example() -> None:
    contract = json.loads(COMMITTED.read_text(encoding="utf-8"))
    bodies = [
        (method, path, status, media_type, media)
        for method, path, operation in _operations(contract)
        for status, holder in [
            ("request", operation.get("requestBody", {})),
            *operation["responses"].items(),
        ]
        for media_type, media in holder.get("content", {}).items()
    ]
    assert len(bodies) > 100
    assert [b[:4] for b in bodies if "example" not in b[4]] == []
    for method, path, status, media_type, media in bodies:
        if media_type == "application/problem+json":
            example = media["example"]
            assert example["code"] in {code.value for code in ErrorCode}, (method, path)
            if status[0].isdigit() and status[1:] != "XX":
                assert example["status"] == int(status), (method, path, status)
