"""`ktp-gateway spec check` and start-up validation: good profiles pass, broken ones say where."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ktp_gateway.cli import main
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.specs import DEFAULT_SPECS_DIR, check_specs, load_specs

SHIPPED = sorted(DEFAULT_SPECS_DIR.glob("*/*.yaml"))


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "firmware_specs"
    shutil.copytree(DEFAULT_SPECS_DIR, folder)
    return folder


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_every_shipped_profile_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(SHIPPED) == 4  # card, SAM, the virtual PC/SC reader, the integrated reader
    assert main(["spec", "check", *map(str, SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == 4 and "all profiles valid" in out
    assert main(["spec", "check"]) == 0  # the whole folder, with references


def test_a_broken_profile_fails_with_each_problem_and_its_location(
    specs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = specs_copy / "cards" / "ktp-el.yaml"
    _break(card, "chunk: 224", "chunk: 225")
    _break(card, 'photo:             {fid: "6FF2"', 'photo:             {fid: "6F"')
    _break(card, "pem: ../keys/virtual-issuer.TEST-ONLY.pem", "pem: ../keys/missing.pem")
    assert main(["spec", "check", str(card)]) == 1
    out = capsys.readouterr().out
    assert f"{card}:{_line(card, 'chunk: 225')}: read.chunk: Input should be a multiple of 8" in out
    fid_line = _line(card, 'fid: "6F"')
    assert f"{card}:{fid_line}: files.photo.fid:" in out
    assert "signature.issuer_keys[0]: cannot read key file ../keys/missing.pem" in out
    assert "3 problem(s)" in out


def test_a_reader_profile_with_a_bad_pattern_or_template(specs_copy: Path) -> None:
    reader = specs_copy / "readers" / "vpcd-virtual.yaml"
    _break(reader, "card_slot: '^(?P<unit>", "card_slot: '^(?P<unit")
    _break(reader, "sam_slot: '{unit} 01'", "sam_slot: '{unit} {slot}'")
    _, problems = check_specs(specs_copy)
    assert {p.location for p in problems} == {"card_slot", "sam_slot"}
    assert all(p.file == "readers/vpcd-virtual.yaml" and p.line for p in problems)


def test_references_between_profiles_are_checked(specs_copy: Path) -> None:
    _break(
        specs_copy / "readers" / "vpcd-virtual.yaml", "sam_profile: ktp-el-sam", "sam_profile: x"
    )
    _, problems = check_specs(specs_copy)
    [problem] = problems
    assert (problem.file, problem.location) == ("readers/vpcd-virtual.yaml", "sam_profile")
    assert "no SAM profile has id 'x'" in problem.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a: &x [1, 2]\nb: *x\n", "aliases are not allowed"),
        (b"- just\n- a list\n", "a profile is a YAML mapping"),
        (b"kind: card\nid: [unclosed\n", "not valid YAML"),
        (b"\xff\xfe", "not UTF-8"),
        (b"kind: printer\n", "must be one of card, sam, reader"),
        (b"x: " + b"[" * 100 + b"]" * 100 + b"\n", "nested deeper"),
    ],
)
def test_files_that_are_not_profiles_are_problems_not_crashes(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    assert main(["spec", "check", str(path)]) == 1
    assert message in capsys.readouterr().out


def test_a_malformed_profile_stops_start_up_with_the_same_message(specs_copy: Path) -> None:
    _break(specs_copy / "sams" / "ktp-el-sam.yaml", "serial: 0xF7", "serial: 0x1F7")
    with pytest.raises(ConfigurationError) as caught:
        load_specs(specs_copy)
    message = caught.value.detail
    assert "sams/ktp-el-sam.yaml:" in message and "instructions.serial" in message
    assert "ktp-gateway spec check" in message


def test_spec_check_as_a_user_runs_it(specs_copy: Path) -> None:
    card = specs_copy / "cards" / "ktp-el.yaml"
    good = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ktp_gateway.cli", "spec", "check", "--json", str(card)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert good.returncode == 0 and '"ok": true' in good.stdout
    _break(card, "first_read: 8", "first_read: 0")
    bad = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ktp_gateway.cli", "spec", "check", "--specs-dir", str(specs_copy)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1
    assert f"cards/ktp-el.yaml:{_line(card, 'first_read: 0')}: read.first_read:" in bad.stdout
