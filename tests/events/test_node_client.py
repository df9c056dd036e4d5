"""The official Node client 11.2.0's webhook calls (list, retrieve, create, update, delete)
work against our server with the shapes its types declare."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.events.conftest import new_merchant
from tests.support.live import LiveServer

DRIVER = Path(__file__).resolve().parent / "node_webhooks.mjs"
WEBHOOK = {"webhook_id", "name", "url", "created_at"}


def test_node_1120_webhook_calls(hook_server: LiveServer) -> None:
    node = shutil.which("node")
    assert node, "node is required (scripts/test-deps.sh installs it)"
    m = new_merchant(hook_server)
    args = {"base_url": hook_server.api_base, "secret_key": m["secret_key"], "url": "https://93.184.216.34/hook"}
    proc = subprocess.run([node, str(DRIVER), json.dumps(args)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["version"] == "11.2.0"
    created = out["created"]
    assert set(created) == WEBHOOK | {"webhook_secret"} and created["webhook_secret"].startswith("whsec_")
    assert out["retrieved"] == {k: created[k] for k in WEBHOOK}
    assert out["listed"]["has_more"] is False and [w["webhook_id"] for w in out["listed"]["data"]] == [
        created["webhook_id"]
    ]
    assert set(out["updated"]) == WEBHOOK and out["updated"]["name"] == "renamed"
    assert "400" in out["fourth"]["error"] and "webhook_limit_reached" in out["fourth"]["error"]
    assert out["deleted"] == {"id": created["webhook_id"], "deleted": True}
    assert "404" in out["after_delete"]["error"]
