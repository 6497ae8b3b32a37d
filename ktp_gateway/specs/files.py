"""Read one firmware-spec YAML file safely and point at the line a problem is on.

Profiles are small, hand-edited files. Reading refuses what a profile never needs and what
could make loading hang or balloon (files over `MAX_SPEC_BYTES`, YAML aliases, deep nesting),
so a broken or hostile file is a typed problem with a location, never a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_SPEC_BYTES = 256 * 1024  # the shipped profiles are about 3 KB
MAX_DEPTH = 32  # profiles nest four levels deep


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One thing wrong with a profile: the file, where in it, and what."""

    file: str
    location: str  # dotted path inside the file ("read.chunk"), "" for the whole file
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.location or '(file)'}: {self.message}"


class SpecFileError(ValueError):
    """The file cannot be read as a YAML mapping; `problem` says where and why."""

    def __init__(self, problem: SpecProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without aliases (a profile never needs one; "billion laughs" does)."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed in a profile", event.start_mark
            )
        return super().compose_node(parent, index)


def _depth(node: Node, limit: int) -> int:
    depth, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        depth = max(depth, level)
        if depth > limit:
            return depth
        if isinstance(current, MappingNode):
            stack += [(child, level + 1) for pair in current.value for child in pair]
        elif isinstance(current, SequenceNode):
            stack += [(child, level + 1) for child in current.value]
    return depth


def read_spec_file(path: Path, name: str | None = None) -> tuple[dict[str, Any], Node]:
    """The file's top-level mapping and its YAML node tree (for line numbers)."""
    label = name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecFileError(SpecProblem(label, "", f"cannot read: {exc.strerror}")) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecFileError(SpecProblem(label, "", f"larger than {MAX_SPEC_BYTES} bytes"))
    try:
        text = raw.decode("utf-8")
        node = yaml.compose(text, Loader=_NoAliasLoader)
        if node is not None and _depth(node, MAX_DEPTH) > MAX_DEPTH:
            raise SpecFileError(SpecProblem(label, "", f"nested deeper than {MAX_DEPTH} levels"))
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except SpecFileError:
        raise
    except UnicodeDecodeError:
        raise SpecFileError(SpecProblem(label, "", "not UTF-8 text")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecFileError(
            SpecProblem(label, "", f"not valid YAML: {exc.problem or exc.context}", line)
        ) from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        # ValueError/OverflowError: PyYAML's int/float/timestamp constructors on odd scalars.
        raise SpecFileError(
            SpecProblem(label, "", f"not valid YAML: {type(exc).__name__}")
        ) from None
    if not isinstance(data, dict) or node is None:
        raise SpecFileError(SpecProblem(label, "", "a profile is a YAML mapping (key: value)"))
    return data, node


def line_of(node: Node, location: Sequence[int | str]) -> int | None:
    """1-based line of the deepest node on `location` that exists (where to look)."""
    current, line = node, node.start_mark.line + 1
    for part in location:
        child: Node | None = None
        if isinstance(current, MappingNode):
            for key, value in current.value:
                if str(key.value) == str(part):
                    child = value
                    break
        elif isinstance(current, SequenceNode) and isinstance(part, int):
            child = current.value[part] if 0 <= part < len(current.value) else None
        if child is None:
            break
        current, line = child, child.start_mark.line + 1
    return line


def dotted(location: Sequence[int | str]) -> str:
    """("read", "chunk") -> "read.chunk"; (..., 0, ...) -> "issuer_keys[0]"."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
