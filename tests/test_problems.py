from __future__ import annotations

from pathlib import Path

from ktp_gateway.api.problems import PROBLEMS, Fault, fault_of, markdown_table
from ktp_gateway.errors import ErrorCode

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def test_every_error_code_has_a_status_title_and_hint() -> None:
    assert set(PROBLEMS) == set(ErrorCode)
    for problem in PROBLEMS.values():
        assert 400 <= problem.status < 600 and problem.title and problem.hint


def test_the_documented_table_is_generated_from_the_code() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8")


def test_card_codes_blame_the_card_or_its_handling_never_the_sam() -> None:
    for code in ErrorCode:
        fault = fault_of(code)
        if code.value.startswith("card_") or code is ErrorCode.NO_CARD:
            assert fault in (Fault.CARD, Fault.OFFICER), code
        if code.value.startswith("sam_"):
            assert fault is Fault.SAM, code
    assert fault_of(ErrorCode.DUKCAPIL_NOT_FOUND) is Fault.RECORD
