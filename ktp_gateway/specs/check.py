"""`ktp-gateway spec check`: validate reader, card and SAM profiles before a gateway loads them.

The same checks run at start-up (`specs.load_specs`), so a profile that passes here does not fail
deep in a read, and one that fails says which file, which key and which line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ktp_gateway.specs import DEFAULT_SPECS_DIR, check_specs, validate_profile_file
from ktp_gateway.specs.files import SpecProblem


def check_paths(files: list[Path], specs_dir: Path | None) -> tuple[list[str], list[SpecProblem]]:
    """What passed ("card ktp-el (cards/ktp-el.yaml)") and every problem found."""
    passed: list[str] = []
    problems: list[SpecProblem] = []
    for path in files:
        profile, found = validate_profile_file(path)
        problems += found
        if profile is not None:
            passed.append(f"{profile.kind} {profile.id} ({path})")
    if specs_dir is not None or not files:
        folder = specs_dir or DEFAULT_SPECS_DIR
        specs, found = check_specs(folder)
        problems += found
        if specs is not None:
            counts = (
                f"{len(specs.cards)} card, {len(specs.sams)} SAM, {len(specs.readers)} reader, "
                f"{len(specs.integrated)} integrated reader"
            )
            passed.append(f"folder {folder}: {counts} profiles, references resolve")
    return passed, problems


def _as_json(passed: list[str], problems: list[SpecProblem]) -> dict[str, Any]:
    return {
        "ok": not problems,
        "passed": passed,
        "problems": [
            {"file": p.file, "line": p.line, "location": p.location, "message": p.message}
            for p in problems
        ],
    }


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every named file (or the specs folder) is valid, 1 otherwise."""
    passed, problems = check_paths([Path(f) for f in args.files], args.specs_dir)
    if args.json:
        print(json.dumps(_as_json(passed, problems), indent=2))
    else:
        for line in passed:
            print(f"ok       {line}")
        for problem in problems:
            print(f"PROBLEM  {problem}")
        print(f"{len(problems)} problem(s)" if problems else "all profiles valid")
    return 1 if problems else 0


def add_parser(commands: Any) -> None:
    """Register `spec check` on the CLI's subcommands."""
    spec = commands.add_parser("spec", help="firmware spec (reader/card/SAM profile) tools")
    actions = spec.add_subparsers(dest="spec_command", required=True)
    check = actions.add_parser(
        "check",
        help="validate profiles; each problem with its file, line and key",
        description="Validate profile FILEs (kind from the file); with no FILE, or with "
        "--specs-dir, every profile of a specs folder and the references between them.",
    )
    check.add_argument("files", nargs="*", metavar="FILE", help="a profile YAML file")
    check.add_argument("--specs-dir", type=Path, default=None, help="a firmware_specs folder")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=run)
