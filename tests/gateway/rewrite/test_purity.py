"""The translators stay pure: only ``handler.py`` touches HTTP; none reaches billing or the store."""

from __future__ import annotations

import ast
from pathlib import Path

import lava_server.gateway.rewrite as package

PACKAGE = Path(package.__file__).parent
FORBIDDEN = ("aiohttp", "lava_server.billing", "lava_server.store", "..billing", "..store", "...billing", "...store")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_translators_import_no_http_billing_or_store() -> None:
    modules = sorted(p for p in PACKAGE.glob("*.py") if p.name != "handler.py")
    assert len(modules) >= 15
    for path in modules:
        bad = {name for name in _imports(path) if name.startswith(FORBIDDEN)}
        assert not bad, f"{path.name} imports {bad}"


def test_the_handler_reaches_billing_only_through_the_forward_lifecycle() -> None:
    names = _imports(PACKAGE / "handler.py")
    assert not {n for n in names if "billing" in n or "store" in n}
    assert "..proxy" in names
