"""The side-by-side benchmark harness works end to end (not a timed test): ``--smoke`` starts the
fast fake upstream and our gateway with billing on, loads both for a moment in every mode and
prints the markdown table, with the gateway's CPU per request and a green ledger check; a peer
that is not installed is reported as not measured and the run goes on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_smoke_run_prints_a_complete_table(tmp_path: Path) -> None:
    out_md = tmp_path / "table.md"
    # An empty peers folder: LiteLLM is not installed there, and --smoke never installs anything.
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LAVA_BENCH_PEERS_DIR": str(tmp_path / "peers")}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "side_by_side.py"), "--smoke", "--targets", "direct,litellm,ours-sqlite",
         "--markdown", str(out_md)],
        capture_output=True,
        text=True,
        timeout=170,
        env=env,
        cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = out_md.read_text()
    assert "ours-sqlite: lava ledger check ok=True" in done.stdout
    for mode in ("Non-streamed", "Streamed"):
        assert f"### {mode}" in table
    rows = [line for line in table.splitlines() if re.match(r"\| (direct|ours-sqlite) \| \d+ \|", line)]
    assert len(rows) == 2 * 2 * 2, table  # 2 targets x 2 modes x 2 concurrencies
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2].replace(",", "")) > 0, row  # requests/s
        assert cells[-1] == "0", row  # no errors
        assert cells[9] == "–" or float(cells[9].replace(",", "")) >= 0, row  # foreign CPU share
        if cells[0] == "ours-sqlite":
            assert float(cells[7]) > 0, row  # CPU ms per request of the gateway's process tree
    assert "billing on, 1 worker(s), SQLite" in table
    # a peer that cannot be measured is said so, and the run goes on without it
    assert "PEER litellm: cannot be measured: not installed" in done.stdout
    assert "- **litellm**: NOT MEASURED: not installed" in table
