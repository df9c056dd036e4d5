"""docs/errors.md lists every error code the server can produce."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_raised_code_is_documented() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "lava_server").rglob("*.py"))
    raised = set(re.findall(r'ApiError\(\s*\d{3},\s*"([a-z_]+)"', source))
    raised |= set(re.findall(r"_HTTP_CODES = \{[^}]*\}", source) and re.findall(r'\d{3}: "([a-z_]+)"', source))
    documented = set(re.findall(r"`([a-z_]+)`", (ROOT / "docs" / "errors.md").read_text()))
    assert len(raised) > 15
    missing = sorted(raised - documented)
    assert not missing, f"codes raised but not in docs/errors.md: {missing}"
