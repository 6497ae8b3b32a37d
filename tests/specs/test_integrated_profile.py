"""The integrated-reader profile: loaded from firmware_specs/readers/ beside the PC/SC profiles,
its values where the driver takes them, and a broken variant refused with its location."""

from __future__ import annotations

from pathlib import Path

from ktp_gateway.domain import GrantedField
from ktp_gateway.specs import DEFAULT_SPECS_DIR, check_specs, load_specs

PROFILE_FILE = DEFAULT_SPECS_DIR / "readers" / "len442-integrated.yaml"


def test_the_integrated_profile_loads_beside_the_pcsc_readers() -> None:
    specs = load_specs()
    profile = specs.integrated["len442-integrated"]
    assert "vpcd-virtual" in specs.readers  # the first family is unchanged
    assert profile.serial.baud == 115200 and profile.framing.command_trailer == "\x00"
    assert profile.commands.finger.header == "finger" and profile.match == "Y"
    assert profile.error_codes[-1012] == "device_not_open"
    assert "demography.fields" in profile.assumed  # what is assumed says so


def test_only_granted_fields_are_mapped_out_of_the_demography() -> None:
    demography = load_specs().integrated["len442-integrated"].demography
    assert set(demography.granted.values()) <= set(GrantedField)
    for never in ("agama", "gol_darah", "kewarganegaraan", "tempat_terbit"):
        assert never in demography.fields and never not in demography.granted


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "specs"
    for sub in ("cards", "sams", "readers", "keys"):
        (folder / sub).mkdir(parents=True)
        for path in (DEFAULT_SPECS_DIR / sub).iterdir():
            (folder / sub / path.name).write_bytes(path.read_bytes())
    target = folder / "readers" / PROFILE_FILE.name
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_a_broken_variant_is_refused_with_its_file_and_place(tmp_path: Path) -> None:
    folder = _variant(tmp_path, "    nama: nama_lengkap\n", "    nama: agama\n")
    specs, problems = check_specs(folder)
    assert specs is None
    (problem,) = problems
    assert problem.file == "readers/len442-integrated.yaml"
    assert problem.location.startswith("demography.granted")


def test_framing_characters_must_differ(tmp_path: Path) -> None:
    folder = _variant(tmp_path, 'answer_start: "$"', 'answer_start: "#"')
    specs, problems = check_specs(folder)
    assert specs is None and problems[0].location == "framing"
