"""The firmware-spec loader on generated folders: a `Specs` or problems, never an exception.

Each input is the shipped profiles with one value replaced, one key dropped, or a file of
arbitrary text, written to a folder that `check_specs` then loads from disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

from ktp_gateway.specs import DEFAULT_SPECS_DIR, check_specs
from tests.fuzz.budget import fuzz

FILES = {p.relative_to(DEFAULT_SPECS_DIR): p for p in sorted(DEFAULT_SPECS_DIR.glob("*/*.yaml"))}
ORIGINAL = {rel: yaml.safe_load(path.read_text()) for rel, path in FILES.items()}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["FF", "F", "6FF0", "xyz", "{unit}", "(?P<unit>.*)", "../keys/nope.pem", "["]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(profile: Any, path: tuple[Any, ...], value: Any, drop: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(profile) if isinstance(profile, dict) else list(profile)
    if drop and not rest and isinstance(copy, dict):
        del copy[head]
    else:
        copy[head] = _mutate(copy[head], rest, value, drop)
    return copy


@st.composite
def folders(draw: st.DrawFn) -> dict[Path, str]:
    target = draw(st.sampled_from(sorted(FILES)))
    out = {rel: yaml.safe_dump(data) for rel, data in ORIGINAL.items()}
    if draw(st.integers(0, 9)) == 0:
        out[target] = draw(st.text(max_size=300))
        return out
    profile = ORIGINAL[target]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(profile)))
        profile = _mutate(profile, path, draw(values), draw(st.booleans()))
    out[target] = yaml.safe_dump(profile)
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(DEFAULT_SPECS_DIR / "keys", tmp_path / "keys")
    return tmp_path


def test_fuzz_spec_loader(folder: Path) -> None:
    def load(files: dict[Path, str]) -> None:
        for rel, text in files.items():
            (folder / rel).parent.mkdir(exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
        specs, problems = check_specs(folder)
        assert (specs is None) == bool(problems)
        for problem in problems:
            assert str(problem)

    assert fuzz("specs.check_specs", folders(), load, batch=20) > 0
