from __future__ import annotations

from pathlib import Path

from ktp_gateway.api.problems import PROBLEMS, markdown_table
from ktp_gateway.errors import ErrorCode

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def test_every_error_code_has_a_status_title_and_hint() -> None:
    assert set(PROBLEMS) == set(ErrorCode)
    for problem in PROBLEMS.values():
        assert 400 <= problem.status < 600 and problem.title and problem.hint


def test_the_documented_table_is_generated_from_the_code() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8")
