"""The contract as a case application uses it: a Python client generated from the committed
`openapi.json` with openapi-python-client, calling the real gateway process and the Dukcapil
simulator with no raw HTTP. Every call a case application makes parses into the generated
models, errors included, and a header the docs tell clients to read is read through it."""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ktp_gateway_dev.stack.processes import free_port
from tests.api.callers import make_key, write_clients
from tests.dukcapil.conftest import Simulator, start_simulator
from tests.returns.gateway import Gateway, outbox_env

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi.json"
# In its own environment (scripts/setup.sh --test): it pins httpx below the project's.
GENERATOR = ROOT / ".venv-codegen" / "bin" / "openapi-python-client"
PACKAGE = "ktp_gateway_client"
BUDI = "3171011505809901"  # synthetic: the simulator's test population
NOBODY = "3273011111889907"  # a well-formed NIK the registry does not hold
PURPOSE = "perlindungan_saksi"
OFFICER_BURST = 3  # each test asks as its own officer; the 429 test spends its budget


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Generate the client from the committed contract and import it."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n", encoding="utf-8")
    run = subprocess.run(  # noqa: S603
        [str(GENERATOR), "generate", "--path", str(CONTRACT), "--meta", "none",
         "--output-path", str(root / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        importlib.import_module(f"{PACKAGE}.models")  # also binds `.models` on the package
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    """The gateway process with one client application's key, the outbox on, the simulator."""
    root = tmp_path_factory.mktemp("gateway")
    key, entry = make_key()
    clients = write_clients(root / "clients.yaml", [{"name": "lpsk-case-app", "keys": [entry]}])
    sim: Simulator = start_simulator()
    env = outbox_env(
        sim,
        {"sqlite_path": str(root / "outbox.sqlite3")},
        KTP_GATEWAY_AUTH__CLIENTS_FILE=str(clients),
        KTP_GATEWAY_LIMITS__OFFICER_BURST=str(OFFICER_BURST),
        # Dukcapil refuses the data balikan (not its token) and the next try is a minute away:
        # an item stays queued, so asking again is the safe retry the contract documents.
        KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN="bukan-token-dukcapil",
        KTP_GATEWAY_RETURN_DATA__BACKOFF_BASE_SECONDS="60",
        KTP_GATEWAY_RETURN_DATA__BACKOFF_MAX_SECONDS="120",
        KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE="1",
    )
    try:
        with Gateway(free_port(), sim, env, root / "gateway.log") as running:
            yield running, key
    finally:
        sim.stop()


@pytest.fixture
def client(generated: ModuleType, gateway: tuple[Gateway, str]) -> Iterator[Any]:
    running, key = gateway
    with generated.AuthenticatedClient(
        base_url=f"http://127.0.0.1:{running.port}", token=key, raise_on_unexpected_status=True
    ) as made:
        yield made


def _who(request: pytest.FixtureRequest) -> dict[str, str]:
    """Accountability as a case application sends it; an officer of this test's own."""
    return {"officer_id": f"PETUGAS-{abs(hash(request.node.name)) % 10**6:06d}", "purpose": PURPOSE}


def _api(generated: ModuleType, path: str) -> Any:
    return importlib.import_module(f"{generated.__name__}.api.{path}")


def test_caller_and_a_lookup_with_photo_and_family(
    generated: ModuleType, client: Any, request: pytest.FixtureRequest
) -> None:
    who = _who(request)
    models = generated.models
    caller = _api(generated, "callers.get_caller").sync(client=client)
    assert isinstance(caller, models.CallerOut) and caller.client == "lpsk-case-app"
    assert caller.photo and caller.family and models.GrantedField.NIK in caller.fields
    body = models.NikLookupRequest(**who, nik=BUDI, include_photo=True, include_family=True)
    lookup = _api(generated, "registry.create_nik_lookup").sync(client=client, body=body)
    assert isinstance(lookup, models.NikLookupResponse), lookup
    assert lookup.data.nik == BUDI and lookup.data.nama_lengkap
    assert lookup.data.alamat is not None and lookup.data.alamat.rt
    assert base64.b64decode(lookup.photo.base64)[:2] == b"\xff\xd8"  # a JPEG
    assert lookup.family and all(isinstance(m.hubungan_keluarga, str) for m in lookup.family)
    assert BUDI in {member.data.nik for member in lookup.family}


def test_unknown_and_malformed_niks_are_typed_problems(
    generated: ModuleType, client: Any, request: pytest.FixtureRequest
) -> None:
    who = _who(request)
    models, lookup = generated.models, _api(generated, "registry.create_nik_lookup")
    for nik, status, code in (
        (NOBODY, 404, "dukcapil_not_found"),
        ("3171-0115", 422, "invalid_nik"),
    ):
        answer = lookup.sync_detailed(client=client, body=models.NikLookupRequest(**who, nik=nik))
        assert answer.status_code == status
        problem = answer.parsed
        assert isinstance(problem, models.ProblemOut), problem
        assert problem.code == models.ErrorCode(code) and problem.hint


def test_claims_answer_per_named_field(
    generated: ModuleType, client: Any, request: pytest.FixtureRequest
) -> None:
    who = _who(request)
    models = generated.models
    claims = models.Claims(nama_lengkap="Budi Contoh", tanggal_lahir=dt.date(1980, 5, 15))
    body = models.ClaimsVerificationRequest(**who, nik=BUDI, claims=claims)
    answer = _api(generated, "claims.create_claims_verification").sync(client=client, body=body)
    assert isinstance(answer, models.ClaimsVerificationResponse), answer
    assert answer.nik_from == models.NikSource.REQUEST
    assert answer.results.nama_lengkap.result == models.ClaimResult.MATCH
    assert answer.thresholds.name >= answer.thresholds.text > 0


def test_the_same_data_balikan_twice_is_two_successes(
    generated: ModuleType, client: Any, request: pytest.FixtureRequest
) -> None:
    who = _who(request)
    models, queue = generated.models, _api(generated, "return_data.queue_return_data")
    body = models.ReturnDataSubmission(
        **who, nik=BUDI, nomor_register="REG-UJI/KLIEN/2026",
        nomor_sk_rapat_paripurna="SK-17/RP/LPSK/05/2026",
    )  # fmt: skip
    first = queue.sync_detailed(client=client, body=body)
    again = queue.sync_detailed(client=client, body=body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert isinstance(again.parsed, models.ReturnDataItem) and again.parsed.id == first.parsed.id
    listing = _api(generated, "return_data.list_return_data").sync(client=client)
    assert isinstance(listing, models.ReturnDataList)
    assert listing.counts.pending + listing.counts.delivering == 1 and listing.counts.dead == 0
    assert [item.id for item in listing.items] == [first.parsed.id]


def test_a_429_says_when_to_try_again_through_the_client(
    generated: ModuleType, client: Any, request: pytest.FixtureRequest
) -> None:
    models, lookup = generated.models, _api(generated, "registry.create_nik_lookup")
    body = models.NikLookupRequest(**_who(request), nik=BUDI)
    answers = [lookup.sync_detailed(client=client, body=body) for _ in range(OFFICER_BURST + 1)]
    refused = answers[-1]
    assert [a.status_code for a in answers] == [200] * OFFICER_BURST + [429]
    assert refused.parsed.code == models.ErrorCode.RATE_LIMITED
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_code_added_later_still_parses(generated: ModuleType) -> None:
    problem = generated.models.ProblemOut.from_dict(
        {"type": "about:blank", "title": "Baru", "status": 409, "detail": "d",
         "code": "a_code_from_a_later_release", "hint": "h", "request_id": "r"}
    )  # fmt: skip
    assert problem.code == "a_code_from_a_later_release"


def _offset(value: Any) -> Any:
    """`Z` as the generated client writes UTC: +00:00 (the same instant)."""
    if isinstance(value, dict):
        return {key: _offset(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_offset(item) for item in value]
    if isinstance(value, str) and len(value) > 19 and value[10] == "T" and value.endswith("Z"):
        return value[:-1] + "+00:00"
    return value


def test_every_example_in_the_contract_parses_into_the_generated_models(
    generated: ModuleType,
) -> None:
    """The examples a developer copies are what a generated client reads (all keys present)."""
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    parsed = 0
    for operations in contract["paths"].values():
        for operation in operations.values():
            holders = [operation.get("requestBody", {}), *operation["responses"].values()]
            for holder in holders:
                for media in holder.get("content", {}).values():
                    name = media["schema"].get("$ref", "").rsplit("/", 1)[-1]
                    if not name:
                        continue  # the event stream: a string
                    model = getattr(generated.models, name)
                    example = media["example"]
                    assert model.from_dict(example).to_dict() == _offset(example), name
                    parsed += 1
    assert parsed > 100


def test_the_generated_client_type_checks_strictly(generated: ModuleType, tmp_path: Path) -> None:
    """A case application type-checks its calls: the generated package passes mypy --strict."""
    package = Path(generated.__file__ or "").parent
    empty = tmp_path / "mypy.ini"
    empty.write_text("[mypy]\n", encoding="utf-8")
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(empty),
         "--cache-dir", str(tmp_path / "cache"), str(package)],
        capture_output=True, text=True, timeout=300, check=False, cwd=package.parent,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
