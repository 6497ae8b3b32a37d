"""The contract passes Redocly CLI's recommended rules (scripts/lint-contract.sh, run by
scripts/test.sh), and the lint is a real gate: a contract that breaks a rule fails it. It is
also a valid OpenAPI 3.1 document to openapi-spec-validator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "scripts" / "lint-contract.sh"
VALIDATOR = ROOT / ".venv-codegen" / "bin" / "openapi-spec-validator"


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [str(LINT), str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_committed_contract_has_no_error_and_no_warning() -> None:
    run = _lint(ROOT / "openapi.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning" not in run.stdout.lower(), run.stdout


def test_an_operation_without_security_fails_the_lint(tmp_path: Path) -> None:
    contract = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    del contract["paths"]["/healthz"]["get"]["security"]  # open, and not said to be
    broken = tmp_path / "openapi.json"
    broken.write_text(json.dumps(contract), encoding="utf-8")
    run = _lint(broken)
    assert run.returncode != 0 and "security-defined" in run.stdout, run.stdout


def test_the_committed_contract_is_valid_to_openapi_spec_validator() -> None:
    run = subprocess.run(  # noqa: S603
        [str(VALIDATOR), str(ROOT / "openapi.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0 and "OK" in run.stdout, run.stdout + run.stderr
