"""Anthropic's advisor tool runs a second model whose tokens are not in the top-level usage
(docs/usage-notes.md): that iteration is priced separately, at its own model's prices, and repriced the same."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from tests.fakes.replay import make_replay_app
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

SAMPLE = "anthropic/messages/test_anthropic_advisor_tool__i0"


def test_advisor_iteration_is_priced_at_its_own_model(tmp_path: Path) -> None:
    replay = start_in_thread(make_replay_app)
    prices = {
        "anthropic/claude-sonnet-5": {"input_mtok": "3", "output_mtok": "15"},
        "anthropic/claude-opus-4-8": {"input_mtok": "15", "output_mtok": "75"},
    }
    (tmp_path / "prices.json").write_text(json.dumps(prices))
    server, stop = start_server(
        tmp_path, upstream_map={"api.anthropic.com": replay.url}, prices_file=tmp_path / "prices.json"
    )
    try:
        m = server.merchant()
        product = server.cli("products", "create", "--secret-key", m["secret_key"])
        con = server.cli("connections", "create", "--secret-key", m["secret_key"], "--credit", "1")
        token = base64.b64encode(
            json.dumps(
                {
                    "secret_key": m["secret_key"],
                    "connection_secret": con["connection_secret"],
                    "product_secret": product["product_secret"],
                    "provider_key": "sk-ant-own",
                },
                separators=(",", ":"),
            ).encode()
        ).decode()
        body = {"model": "claude-sonnet-5", "max_tokens": 200, "messages": [{"role": "user", "content": "hi"}]}
        r = httpx.post(
            server.url + "/v1/forward?u=https://api.anthropic.com/v1/messages?beta=true",
            headers={"Authorization": f"Bearer {token}", "x-replay-sample": SAMPLE},
            json=body,
        )
        assert r.status_code == 200, r.text
        rec = httpx.get(
            server.api_base + "requests/" + r.headers["x-lava-request-id"],
            headers={"Authorization": f"Bearer {m['secret_key']}"},
        ).json()
        usage = rec["model_usage"]
        assert (usage["input_tokens"], usage["output_tokens"]) == (2390, 121)  # the top level only
        # main: 2390 × $3/M + 121 × $15/M = 0.00717 + 0.001815
        # advisor (claude-opus-4-8): 2518 × $15/M + 22 × $75/M = 0.03777 + 0.00165
        assert usage["input_cost"] == "0.0449400000"
        assert usage["output_cost"] == "0.0034650000"
        assert usage["total_cost"] == "0.0484050000"
        assert usage["payer"] == "merchant"  # BYOK: recorded, not charged
        sub = rec["pricing"]["sub_calls"][0]
        assert sub["model"] == "claude-opus-4-8"
        assert sub["usage"]["input_tokens"] == 2518
        repriced = server.cli("requests", "reprice", rec["request_id"])
        assert repriced["matches"] is True
        assert repriced["recomputed"]["base_cost"] == "0.0484050000"
    finally:
        stop()
        replay.stop()
