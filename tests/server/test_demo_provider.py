"""The demo's built-in stand-in for OpenAI: what it does not serve is said plainly, in OpenAI's error shape."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lava_server import demo_provider


async def test_an_endpoint_the_demo_provider_does_not_serve_says_so_and_how_to_reach_openai() -> None:
    app = web.Application()
    demo_provider.mount(app)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        chat = await client.post(
            demo_provider.PATH + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []}
        )
        assert chat.status == 200
        for method, path in (("POST", "/v1/embeddings"), ("GET", "/v1/models"), ("POST", "/v1/responses")):
            r = await client.request(method, demo_provider.PATH + path, json={"model": "gpt-4o-mini"})
            assert r.status == 404
            error = (await r.json())["error"]
            assert error["type"] == "invalid_request_error" and error["code"] == "unknown_url"
            assert f"{method} {path}" in error["message"]  # the caller's path, not the internal /_demo mount
            assert "/_demo" not in error["message"]
            assert "only POST /v1/chat/completions" in error["message"]
            assert "lava provider-keys set --provider openai" in error["message"]
    finally:
        await client.close()
