"""Field lists read from the official SDK's own type declarations (``dist/index.d.ts``).

``shape("RestRequest")`` parses ``type RestRequest = {...}`` into nested :class:`Field` specs
(referenced ``Rest…`` types resolved), and :func:`check` compares a JSON value against it: every
required field present and of its declared kind, optional ones absent or well-typed, and with
``exact`` no key the type does not declare. Nothing here is hand-copied from the SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

NODE_MODULES = Path(__file__).resolve().parent / "node" / "node_modules"
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)(\?)?:\s*(.*)$")
_REF = re.compile(r"^(Rest[A-Za-z]+)(\s*\|\s*null)?;$")


@dataclass
class Field:
    optional: bool
    kind: str  # the declared type text ("string", "number", "'a' | 'b'", "object", "array", ...)
    nullable: bool = False
    children: dict[str, Field] | None = None  # for objects (and arrays of objects)
    is_array: bool = False


@dataclass
class Shape:
    fields: dict[str, Field] = field(default_factory=dict)


@cache
def _source(alias: str) -> str:
    return (NODE_MODULES / alias / "dist" / "index.d.ts").read_text(encoding="utf-8")


def _body_lines(alias: str, name: str) -> list[str]:
    src = _source(alias)
    match = re.search(rf"^type {name} = \{{\n", src, re.MULTILINE)
    if match is None:
        raise KeyError(f"type {name} not found in {alias}'s index.d.ts")
    lines: list[str] = []
    depth = 1
    for line in src[match.end() :].splitlines():
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            return lines
        lines.append(line)
    raise ValueError(f"type {name}: unbalanced braces")


def _parse(alias: str, lines: list[str]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    i = 0
    while i < len(lines):
        m = _KEY.match(lines[i])
        i += 1
        if m is None:
            continue
        name, optional, rest = m.group(1), bool(m.group(2)), m.group(3).strip()
        if rest.endswith("{"):
            depth, inner = 1, []
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                if depth <= 0:
                    closing = lines[i].strip()
                    break
                inner.append(lines[i])
                i += 1
            i += 1
            out[name] = Field(
                optional, "object", "null" in closing, _parse(alias, inner), is_array=closing.startswith("}[]")
            )
            continue
        ref = _REF.match(rest)
        if ref is not None:
            out[name] = Field(optional, "object", bool(ref.group(2)), shape(alias, ref.group(1)))
            continue
        array_ref = re.match(r"^(Rest[A-Za-z]+)\[\];$", rest)
        if array_ref is not None:
            out[name] = Field(optional, "object", False, shape(alias, array_ref.group(1)), is_array=True)
            continue
        kind = rest.rstrip(";")
        out[name] = Field(optional, kind, "null" in kind.split("|")[-1] or "| null" in kind)
    return out


@cache
def shape(alias: str, name: str) -> dict[str, Field]:
    """The fields of ``type <name>`` in the SDK installed under npm alias ``alias``."""
    return _parse(alias, _body_lines(alias, name))


def _kind_ok(kind: str, value: Any) -> bool:
    base = kind.replace("| null", "").strip()
    if base.startswith("'"):
        return isinstance(value, str) and value in {p.strip().strip("'") for p in base.split("|")}
    if base == "string":
        return isinstance(value, str)
    if base == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base in ("boolean", "true"):
        return value is True if base == "true" else isinstance(value, bool)
    if base.startswith("Record<"):
        return isinstance(value, dict)
    if base.endswith("[]"):
        return isinstance(value, list)
    return True  # a type we do not model: presence is what is checked


def check(value: Any, fields: dict[str, Field], *, exact: bool, where: str = "$") -> list[str]:
    """Problems of ``value`` against ``fields`` (empty when it conforms)."""
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    problems: list[str] = []
    for name, spec in fields.items():
        path = f"{where}.{name}"
        if name not in value:
            if not spec.optional:
                problems.append(f"{path}: missing")
            continue
        item = value[name]
        if item is None:
            if not spec.nullable:
                problems.append(f"{path}: null, but the type does not allow null")
            continue
        if spec.children is not None:
            if spec.is_array:
                if not isinstance(item, list):
                    problems.append(f"{path}: expected an array")
                    continue
                for n, element in enumerate(item):
                    problems += check(element, spec.children, exact=exact, where=f"{path}[{n}]")
            else:
                problems += check(item, spec.children, exact=exact, where=path)
        elif not _kind_ok(spec.kind, item):
            problems.append(f"{path}: {item!r} is not {spec.kind}")
    if exact:
        problems += [f"{where}.{k}: not declared by the type" for k in sorted(set(value) - set(fields))]
    return problems
