"""Responses background mode: a queued POST costs nothing; the usage is billed once, on the first
poll that returns the finished response; later polls of the same response are free."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from aiohttp import web

from tests.billing.billing_fixtures import BillingEnv, units
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

USAGE = {"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500}


def background_app() -> web.Application:
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"id": "resp_bg_1", "object": "response", "model": body["model"], "status": "queued", "usage": None}
        )

    async def poll(request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        return web.json_response(
            {"id": rid, "object": "response", "model": "bg-model", "status": "completed", "usage": USAGE}
        )

    app = web.Application()
    app.router.add_post("/v1/responses", create)
    app.router.add_get("/v1/responses/{rid}", poll)
    return app


def test_background_response_is_billed_once(tmp_path: Path) -> None:
    upstream = start_in_thread(background_app)
    (tmp_path / "prices.json").write_text(
        json.dumps({"openai/bg-model": {"input_mtok": "2.50", "output_mtok": "10.00"}})
    )
    server, stop = start_server(
        tmp_path, upstream_map={"api.openai.com": upstream.url}, prices_file=tmp_path / "prices.json"
    )
    try:
        env = BillingEnv(server, upstream, server.merchant(), stop)
        server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
        product = env.product("--rate-type", "fixed", "--tier", "0:0.01:requests")
        con = env.connection(credit="1")
        tok = env.token(con, product)
        headers = {"Authorization": f"Bearer {tok}"}
        base = server.url + "/v1/forward?u=https://api.openai.com/v1/responses"
        start = env.balance(con)

        queued = httpx.post(base, headers=headers, json={"model": "bg-model", "input": "hi", "background": True})
        assert queued.status_code == 200
        rec = env.request(queued.headers["x-lava-request-id"])
        assert rec["status"] == "completed"
        assert rec["response_id"] == "resp_bg_1"
        assert rec["model_usage"]["estimated"] is False
        assert rec["total_request_cost"] == "0.0000000000"  # nothing was consumed yet, not even the request fee
        assert env.balance(con) == start

        first = httpx.get(base + "/resp_bg_1", headers=headers)
        rec = env.request(first.headers["x-lava-request-id"])
        # 1000 × $2.50/M + 500 × $10/M = 0.0075 base; $0.01 request fee; 1.9 % service charge on it
        assert rec["model_usage"]["total_cost"] == "0.0075000000"
        assert rec["fee"]["amount"] == "0.0100000000"
        assert rec["total_wallet_cost"] == "0.0176900000"
        assert env.balance(con) == start - units("0.01769")

        for _ in range(2):
            again = httpx.get(base + "/resp_bg_1", headers=headers)
            rec = env.request(again.headers["x-lava-request-id"])
            assert rec["status"] == "completed"
            assert rec["provider_usage"]["input_tokens"] == 1000  # what the provider said, kept
            assert rec["model_usage"]["input_tokens"] == 0  # but not billed again
            assert rec["total_request_cost"] == "0.0000000000"
        assert env.balance(con) == start - units("0.01769")
        env.assert_ledger_ok()
    finally:
        stop()
        upstream.stop()


def sync_app() -> web.Application:
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"id": "resp_sync_1", "object": "response", "model": body["model"], "status": "completed", "usage": USAGE}
        )

    async def fetch(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": request.match_info["rid"],
                "object": "response",
                "model": "bg-model",
                "status": "completed",
                "usage": USAGE,
            }
        )

    app = web.Application()
    app.router.add_post("/v1/responses", create)
    app.router.add_get("/v1/responses/{rid}", fetch)
    return app


def test_fetching_a_finished_response_again_is_free_and_only_for_its_merchant(tmp_path: Path) -> None:
    upstream = start_in_thread(sync_app)
    (tmp_path / "prices.json").write_text(
        json.dumps({"openai/bg-model": {"input_mtok": "2.50", "output_mtok": "10.00"}})
    )
    server, stop = start_server(
        tmp_path, upstream_map={"api.openai.com": upstream.url}, prices_file=tmp_path / "prices.json"
    )
    try:
        env = BillingEnv(server, upstream, server.merchant(), stop)
        server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
        product = env.product("--rate-type", "fixed", "--tier", "0:0.01:requests")
        con = env.connection(credit="1")
        headers = {"Authorization": f"Bearer {env.token(con, product)}"}
        base = server.url + "/v1/forward?u=https://api.openai.com/v1/responses"
        start = env.balance(con)
        assert httpx.post(base, headers=headers, json={"model": "bg-model", "input": "hi"}).status_code == 200
        after_post = env.balance(con)
        assert start - after_post == units("0.01769")
        again = httpx.get(base + "/resp_sync_1", headers=headers)
        assert again.status_code == 200
        assert env.balance(con) == after_post  # the same response is not billed twice

        other = BillingEnv(server, upstream, server.merchant("other"), stop)
        other_product = other.product()
        other_con = other.connection(credit="1")
        foreign = httpx.get(
            base + "/resp_sync_1", headers={"Authorization": f"Bearer {other.token(other_con, other_product)}"}
        )
        assert foreign.status_code == 404  # another merchant cannot read it with the operator's key
        assert foreign.json()["error"]["code"] == "not_found"
        env.assert_ledger_ok()
    finally:
        stop()
        upstream.stop()
