"""Imports flow one way (docs/ARCHITECTURE.md): a lower layer never imports a higher one.

Every module of ``src/lava_server`` is parsed (``ast``, so imports inside functions and under
``TYPE_CHECKING`` count too) and placed in exactly one layer by ``LAYERS`` below. A module may
import its own layer and any layer below it; the shared bottom imports only itself. A module
that no rule places fails the test, so a new module must be given a layer. The SDK
(``src/lava``) never imports ``lava_server``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# (layer, module patterns), highest first. A pattern ``x.*`` matches ``x`` and everything under it;
# the first matching layer wins, so exact modules listed early override a package listed later.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Shared bottom: no layer of its own, importable from anywhere, importing only each other.
    (
        "bottom",
        (
            "lava_server",  # the package itself: only __version__
            "lava_server.money",
            "lava_server.clock",
            "lava_server.ids",
            "lava_server.errors",
            "lava_server.settings",
            "lava_server.envvars",  # the one cast helper for environment variables
            "lava_server.checkout.config",  # part of the settings
            "lava_server.events.config",  # part of the settings
            "lava_server.auth.keyring",  # secret hashing/encryption: a primitive every layer's storage uses
            "lava_server.auth.cache",  # a generic bounded TTL cache
        ),
    ),
    # Entry points and composition: the CLI, the server, the app and the demo assemble everything.
    (
        "entry",
        (
            "lava_server.__main__",
            "lava_server.cli",
            "lava_server.admin",
            "lava_server.admin_current",  # the current API's admin commands
            "lava_server.admin_plans",  # lava plans / subscriptions / clock
            "lava_server.scheduler",  # the renewal loop the app starts (composition)
            "lava_server.admin_spend_keys",  # lava spend-keys
            "lava_server.admin_gaps",  # lava merchants wallet-enforcement, merchant provider keys
            "lava_server.server",
            "lava_server.server_workers",
            "lava_server.server_guard",
            "lava_server.app",
            "lava_server.demo",
        ),
    ),
    # The HTTP edge: request handlers and the modules that mount them.
    (
        "edge",
        (
            "lava_server.api.*",
            "lava_server.gateway.routes",
            "lava_server.gateway.quote",  # the POST /v1/quote handler
            "lava_server.checkout.web",
            "lava_server.checkout.flow",  # the hosted page's request handlers
            "lava_server.checkout.page_view",  # the hosted page's responses, guard and View
            "lava_server.checkout.pages",
            "lava_server.checkout.demo_page",
            "lava_server.demo_provider",
        ),
    ),
    # Application services over the shared ``Services`` (built in context.py).
    (
        "services",
        (
            "lava_server.context",
            "lava_server.accounts.*",
            "lava_server.checkout.*",
            "lava_server.events.*",  # webhook endpoints, payloads and the delivery worker
        ),
    ),
    ("auth", ("lava_server.auth.*",)),
    ("gateway", ("lava_server.gateway.*",)),
    ("billing", ("lava_server.billing.*",)),
    ("store", ("lava_server.store.*",)),
)
ORDER = [name for name, _ in LAYERS if name != "bottom"]  # highest first


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        base = pattern[:-2]
        return module == base or module.startswith(base + ".")
    return module == pattern


def layer_of(module: str) -> str | None:
    for name, patterns in LAYERS:
        if any(_matches(module, p) for p in patterns):
            return name
    return None


def may_import(importer: str, imported: str) -> bool:
    """Whether a module in layer ``importer`` may import one in layer ``imported``."""
    if imported == "bottom":
        return True
    if importer == "bottom":
        return False
    return ORDER.index(imported) >= ORDER.index(importer)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the package-local modules ``path`` imports (``from x import y`` → x.y when
    ``x.y`` is a module, else x)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / package).rglob("*.py"))}


SERVER = _modules("lava_server")


def _resolve(name: str) -> str | None:
    """The server module an import name refers to (``a.b.c`` → ``a.b`` when ``c`` is a symbol)."""
    while name:
        if name in SERVER:
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_server_module_has_a_layer() -> None:
    unplaced = [m for m in SERVER if layer_of(m) is None]
    assert not unplaced, f"give these modules a layer in tests/test_layers.py: {unplaced}"


@pytest.mark.parametrize("module", sorted(SERVER))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    own = layer_of(module)
    assert own is not None
    bad = []
    for name in sorted(imports_of(SERVER[module])):
        if not name.startswith("lava_server"):
            continue
        target = _resolve(name)
        if target is None or target == module:
            continue
        theirs = layer_of(target)
        assert theirs is not None
        if not may_import(own, theirs):
            bad.append(f"{target} ({theirs})")
    assert not bad, f"{module} ({own}) imports a higher layer: {sorted(set(bad))}"


def test_the_sdk_never_imports_the_server() -> None:
    bad = {
        module_name(p): sorted(n for n in imports_of(p) if n == "lava_server" or n.startswith("lava_server."))
        for p in sorted((SRC / "lava").rglob("*.py"))
    }
    assert not {m: names for m, names in bad.items() if names}


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    """The rules reject what they should (so a broken parser cannot pass silently)."""
    assert not may_import("billing", "gateway")
    assert not may_import("store", "billing")
    assert not may_import("gateway", "auth")
    assert not may_import("auth", "edge")
    assert not may_import("bottom", "store")
    assert may_import("edge", "store") and may_import("gateway", "billing") and may_import("store", "bottom")
    assert layer_of("lava_server.gateway.tokens") == "gateway"
    assert layer_of("lava_server.gateway.routes") == "edge"
    assert layer_of("lava_server.checkout.config") == "bottom"
    assert layer_of("lava_server.checkout.payments") == "services"
    service = SRC / "lava_server" / "billing" / "service.py"
    names = imports_of(service)
    assert "lava_server.store" in names and "lava_server.billing.ledger" in names
    # relative imports of a nested package resolve against that package
    dialect = SRC / "lava_server" / "gateway" / "dialects" / "anthropic.py"
    assert "lava_server.gateway.providers" in imports_of(dialect)
