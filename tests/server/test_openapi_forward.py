"""/openapi.json documents /v1/forward like every other route, and the Idempotency-Key header."""

from __future__ import annotations

import httpx
from jsonschema.validators import Draft202012Validator

from tests.support.live import LiveServer

FORWARD_METHODS = {"get", "post", "put", "patch", "delete"}


def test_forward_is_documented(lava_server: LiveServer) -> None:
    doc = httpx.get(lava_server.url + "/openapi.json", timeout=10).json()
    for path in ("/v1/forward", "/v1/forward/{suffix}"):
        item = doc["paths"][path]
        assert FORWARD_METHODS <= set(item), path
        for method in FORWARD_METHODS:
            op = item[method]
            assert op["summary"] and op["security"] == [{"forwardToken": []}]
            params = {p["name"]: p for p in op["parameters"]}
            assert params["u"]["in"] == "query" and params["u"]["required"] is True
            assert {"metadata", "key", "X-Lava-Metadata"} <= set(params)
            assert "x-lava-request-id" in op["responses"]["200"]["headers"]
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            assert ("requestBody" in op) == (method in ("post", "put", "patch"))
    assert all(
        any(p["name"] == "suffix" and p["in"] == "path" for p in op["parameters"])
        for op in doc["paths"]["/v1/forward/{suffix}"].values()
    )
    # The documented error shape is what the route really answers.
    r = httpx.post(lava_server.url + "/v1/forward", json={}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_forward_target"
    schema = {"$ref": "#/components/schemas/Error", "components": doc["components"]}
    Draft202012Validator(schema).validate(r.json())


def test_every_rest_post_documents_idempotency_key(lava_server: LiveServer) -> None:
    doc = httpx.get(lava_server.url + "/openapi.json", timeout=10).json()
    param = doc["components"]["parameters"]["IdempotencyKey"]
    assert param["in"] == "header" and param["name"] == "Idempotency-Key"
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    posts = {path: item["post"] for path, item in doc["paths"].items() if "post" in item}
    for path, op in posts.items():
        rest_write = not path.startswith(("/v1/forward", "/v1/rewrite/")) and path != "/v1/quote"
        assert (ref in op["parameters"]) == rest_write, path
    assert {"/v1/checkout_sessions", "/v1/requests"} <= {p for p, op in posts.items() if ref in op["parameters"]}
