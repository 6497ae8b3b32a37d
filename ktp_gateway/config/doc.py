"""The configuration reference (docs/configuration.md), generated from the settings model.

Walks `Settings` (config/__init__.py) and its sections: every setting's YAML key, environment
variable, type, default, bounds, and its meaning taken from the section's docstring and the comments
written beside each field in the source, so the reference cannot drift from the code (a test
compares the committed file with this output). `python -m ktp_gateway.config.doc` prints it;
`--write` replaces docs/configuration.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import inspect
import io
import json
import re
import tokenize
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from ktp_gateway.config import CONFIG_ENV, Settings

SOURCE_ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = SOURCE_ROOT / "docs" / "configuration.md"
ENV_PREFIX = "KTP_GATEWAY_"
_FIELD = re.compile(r"^    (\w+)\s*:")
_BOUNDS = {
    annotated_types.Ge: ">=",
    annotated_types.Gt: ">",
    annotated_types.Le: "<=",
    annotated_types.Lt: "<",
}

HEADER = f"""# Configuration reference

Generated from the settings model (`ktp_gateway/config/` and the sections it nests) by
`python -m ktp_gateway.config.doc --write`; a test fails when this file is stale.

Each setting comes from an environment variable (`{ENV_PREFIX}` + section + `__` + name, upper
case) or from a YAML file named by `{CONFIG_ENV}` (the same names, nested, lower case); the
environment wins. Lists and sets are JSON in the environment
(`{ENV_PREFIX}ACTIVATION__RECORD_FILES='["/etc/ktp-gateway/secrets/reader-1.json"]'`).
Unknown names are refused, and unsafe combinations stop the start (a non-loopback bind without
caller authentication and TLS). Secrets (marked *secret*) are never logged or returned; prefer
their `_file` settings, owner-only files re-read when they change. `ktp-gateway doctor` checks
that the settings load and the files are in order (docs/operator-guide.md).
"""


def _comments(cls: type) -> dict[str, str]:
    """The comments beside (and right above) each field line of a class's source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    trailing: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            trailing[token.start[0] - 1] = token.string.lstrip("#").strip()
    found: dict[str, str] = {}
    for number, line in enumerate(lines):
        match = _FIELD.match(line)
        if not match:
            continue
        above: list[str] = []
        previous = number - 1
        while previous >= 0 and lines[previous].strip().startswith("#"):
            above.insert(0, trailing[previous])
            previous -= 1
        beside = [trailing[number]] if number in trailing and "#" in line else []
        text = " ".join(part for part in [*above, *beside] if part and part != "fmt: skip")
        found[match.group(1)] = text
    return found


def _is_section(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        names = [_type(a) for a in args if a is not type(None)]
        optional = " or none" if type(None) in args else ""
        return " or ".join(names) + optional
    if origin in (list, tuple, frozenset, set):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in annotation)
    if annotation is SecretStr:
        return "*secret* text"
    if annotation is dt.time:
        return "time (HH:MM)"
    return {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, SecretStr):
        return "empty" if not value.get_secret_value() else "*(set)*"
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if isinstance(value, frozenset | set):
        items = sorted(v.value if isinstance(v, enum.Enum) else v for v in value)
        return f"`{json.dumps(items)}`"
    if isinstance(value, list | tuple):
        return f"`{json.dumps([str(v) for v in value])}`"
    if isinstance(value, BaseModel):
        return "see its settings"
    if isinstance(value, Path) and value.is_relative_to(SOURCE_ROOT):
        return f"`{value.relative_to(SOURCE_ROOT)}/` of the installed source"
    if isinstance(value, dt.time):
        return f"`{value:%H:%M}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    parts = [
        f"{symbol} {getattr(item, type(item).__name__.lower())}"
        for item in field.metadata
        for kind, symbol in _BOUNDS.items()
        if isinstance(item, kind)
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(model: type[BaseModel], path: tuple[str, ...]) -> Iterator[str]:
    comments = _comments(model)
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if _is_section(annotation):
            continue  # a nested section gets its own table
        key = ".".join((*path, name))
        env = ENV_PREFIX + "__".join(part.upper() for part in (*path, name))
        meaning = comments.get(name, "")
        yield (
            f"| `{key}`<br>`{env}` | {_cell(_type(annotation))}{_bounds(field)} "
            f"| {_cell(_value(field.default))} | {_cell(meaning)} |"
        )


def _sections(
    model: type[BaseModel], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], type[BaseModel]]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if _is_section(annotation):
            assert isinstance(annotation, type)  # noqa: S101 (checked by _is_section)
            yield (*path, name), annotation
            yield from _sections(annotation, (*path, name))


def _docstring(model: type[BaseModel]) -> str:
    doc = inspect.getdoc(model) or ""
    if doc.startswith(("A base class", "Usage docs")) or model.__doc__ is None:
        return ""
    return " ".join(doc.split())


def markdown() -> str:
    """The whole reference as Markdown."""
    out = [HEADER]
    for path, model in _sections(Settings, ()):
        out += [f"## `{'.'.join(path)}`", ""]
        doc = _docstring(model)
        if doc:
            out += [doc, ""]
        out += [
            "| setting (YAML key, environment variable) | type | default | meaning |",
            "|---|---|---|---|",
            *_rows(model, path),
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference, or `--write` it to docs/configuration.md."""
    parser = argparse.ArgumentParser(prog="python -m ktp_gateway.config.doc")
    parser.add_argument("--write", action="store_true", help=f"replace {DOC_PATH.name}")
    if parser.parse_args(argv).write:
        DOC_PATH.write_text(markdown(), encoding="utf-8")
    else:
        print(markdown(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
