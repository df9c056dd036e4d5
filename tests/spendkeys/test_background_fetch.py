"""A spend key and OpenAI Responses background mode: the queued POST spends nothing, the first
poll that carries usage is counted in full, later polls of the same response are free. A poll
names no model, so a key with a spend limit admits it while the key is within its limit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from lava_server.billing import ledger
from tests.billing.billing_fixtures import units
from tests.billing.test_background_responses import background_app
from tests.fakes.server import start_in_thread
from tests.support.live import start_server


def test_background_response_counts_once(tmp_path: Path) -> None:
    upstream = start_in_thread(background_app)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai/bg-model": {"input_mtok": "2.50", "output_mtok": "10.00"}}))
    server, stop = start_server(tmp_path, upstream_map={"api.openai.com": upstream.url}, prices_file=prices)
    try:
        server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
        secret = server.merchant("bg")["secret_key"]
        admin = {"Authorization": f"Bearer {secret}"}
        created = httpx.post(
            server.api_base + "spend_keys",
            headers=admin,
            json={"name": "bg", "spend_limit": {"amount": "1", "cycle": "total"}},
            timeout=30,
        ).json()
        headers = {"Authorization": f"Bearer {created['key']}"}
        base = server.url + "/v1/forward?u=https://api.openai.com/v1/responses"
        queued = httpx.post(base, headers=headers, json={"model": "bg-model", "input": "hi", "background": True})
        assert queued.status_code == 200, queued.text
        polls = [httpx.get(base + "/resp_bg_1", headers=headers, timeout=30) for _ in range(3)]
        assert [p.status_code for p in polls] == [200, 200, 200]
        key = httpx.get(server.api_base + f"spend_keys/{created['spend_key_id']}", headers=admin, timeout=30).json()
        # 1000 × $2.50/M + 500 × $10/M, counted once
        assert units(key["total_spend"]) == units("0.0075") == units(key["current_spend"])
        assert key["total_requests"] == 4
        assert server.call(ledger.check(server.services.db)).ok
    finally:
        stop()
        upstream.stop()
