"""``import lava`` stays light: no server code, no aiohttp, no provider SDKs."""

from __future__ import annotations

import subprocess
import sys


def test_import_lava_does_not_import_server_or_aiohttp() -> None:
    code = (
        "import sys, lava\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'lava_server', 'aiohttp', 'asyncpg', 'orjson', 'openai', 'anthropic', 'google'})\n"
        "assert not bad, bad\n"
        "lava.Lava('aks_test_x').generate_forward_token(connection_secret='c', product_secret='p')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_sdk_source_never_mentions_lava_server() -> None:
    from pathlib import Path

    import lava

    root = Path(lava.__file__).parent
    offenders = [p for p in root.rglob("*.py") if "lava_server" in p.read_text()]
    assert offenders == []


def test_public_surface() -> None:
    import lava

    for name in lava.__all__:
        assert hasattr(lava, name), name
    assert lava.__version__
