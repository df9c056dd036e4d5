"""Run the official ``@lavapayments/nodejs`` 11.2.0 (``tests/compat/node/node_modules/lava1120``)
with ``fetch`` replaced by a recorder, so our SDK's wire can be compared with Node's byte for byte.

A missing node or package is a test failure, never a skip (as in tests/compat).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "compat" / "node"
VERSION = "11.2.0"

# Each call: {"kind": "token" | "gateway" | "exchangeAuthCode" | "<resource>.<method>", "args": [...]}
# (JSON: absent keys are undefined).
_SCRIPT = r"""
const { Lava } = require('lava1120');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = [];
globalThis.fetch = async (url, init) => {
  let body = init.body;
  if (body !== undefined && typeof body !== 'string') body = Buffer.from(body).toString('utf8');
  out[out.length - 1].requests.push({
    url: String(url), method: init.method, headers: init.headers || {}, body: body === undefined ? null : body,
  });
  return new Response(JSON.stringify(input.reply), { status: 200, headers: { 'content-type': 'application/json' } });
};
(async () => {
  const lava = new Lava(input.key, { baseUrl: input.base });
  for (const call of input.calls) {
    const record = { requests: [], token: null, error: null };
    out.push(record);
    try {
      if (call.kind === 'token') record.token = lava.generateForwardToken(call.args[0]);
      else if (call.kind === 'gateway') await lava.gateway(...call.args);
      else if (call.kind === 'exchangeAuthCode') await Lava.exchangeAuthCode(...call.args);
      else { const [resource, method] = call.kind.split('.'); await lava[resource][method](...call.args); }
    } catch (e) { record.error = String(e && e.message); }
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def node_bin() -> str:
    """The node executable, after checking lava1120 is installed at the pinned version."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (Node >= 18 is needed)")
    manifest = NODE_DIR / "node_modules" / "lava1120" / "package.json"
    if not manifest.is_file():
        pytest.fail(f"{manifest} is missing: install tests/compat/node (npm ci)")
    installed = json.loads(manifest.read_text())
    assert (installed.get("name"), installed.get("version")) == ("@lavapayments/nodejs", VERSION), installed
    return node


def run(calls: list[dict[str, Any]], *, key: str, base: str, reply: Any = None) -> list[dict[str, Any]]:
    """Run ``calls`` through Node 11.2.0; one record ``{requests, token, error}`` per call."""
    stdin = json.dumps({"key": key, "base": base, "calls": calls, "reply": {} if reply is None else reply})
    done = subprocess.run(
        [node_bin(), "-e", _SCRIPT], input=stdin, capture_output=True, text=True, cwd=NODE_DIR, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert isinstance(records, list) and len(records) == len(calls)
    return records
