"""GET /openapi.json: the OpenAPI 3.1 description of the REST API, kept next to the handlers.

tests/server/test_openapi.py validates real responses against these schemas, so a
change to a handler's output that is not reflected here fails the suite.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from .jsonio import json_response
from .openapi_current import with_current_generation
from .openapi_forward import forward_path_item
from .openapi_plans import with_plans
from .openapi_schemas import SCHEMAS
from .openapi_spend_keys import with_spend_keys

routes = web.RouteTableDef()


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "description": "run this POST at most once per merchant and mode for 24 hours: a retry with the same key "
    "gets the first response (header Idempotent-Replayed: true); another request under the key is 409 "
    "idempotency_conflict (docs/decisions.md)",
}


def _op(
    summary: str, ok: int, schema: str, params: list[dict[str, Any]] | None = None, body: str | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"secretKey": []}],
        "parameters": [{"$ref": "#/components/parameters/ApiVersion"}, *(params or [])],
        "responses": {
            str(ok): {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}},
        },
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
        op["parameters"].append({"$ref": "#/components/parameters/IdempotencyKey"})
    return op


def _q(name: str, schema: dict[str, Any], required: bool = False, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


PAGING = [
    _q("cursor", {"type": "string"}, description="next_cursor of the previous page"),
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
]
METADATA_FILTERS = _q("metadata_filters", {"type": "string"}, description='JSON list of pairs: [["key","value"]]')


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lava-compatible billing API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "secretKey": {"type": "http", "scheme": "bearer", "description": "aks_test_… / aks_live_…"},
                "forwardToken": {"type": "http", "scheme": "bearer", "description": "base64 forward token"},
            },
            "parameters": {
                "ApiVersion": {
                    "name": "X-Lava-API-Version",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "enum": ["2025-03-27.v1", "2025-04-21.v1", "2025-04-28.v1"]},
                },
                "IdempotencyKey": IDEMPOTENCY_KEY,
            },
        },
        "paths": {
            "/v1/checkout_sessions": {
                "post": _op("Create a checkout session", 201, "CheckoutSession", body="CheckoutSessionCreate"),
                "get": _op(
                    "List checkout sessions",
                    200,
                    "CheckoutSessionList",
                    [*PAGING, _q("reference_id", {"type": "string"})],
                ),
            },
            "/v1/checkout_sessions/{checkout_session_id}": {
                "get": _op("Retrieve a checkout session", 200, "CheckoutSession", [_path("checkout_session_id")])
            },
            "/v1/connections": {
                "get": _op(
                    "List connections",
                    200,
                    "ConnectionList",
                    [*PAGING, _q("reference_id", {"type": "string"})],
                )
            },
            "/v1/connections/{connection_id}": {
                "get": _op("Retrieve a connection", 200, "Connection", [_path("connection_id")]),
                "delete": _op("Delete (soft) a connection", 200, "DeleteResult", [_path("connection_id")]),
            },
            "/v1/forward": forward_path_item(suffix=False),
            "/v1/forward/{suffix}": forward_path_item(suffix=True),
            "/v1/quote": {
                "post": {
                    **_op("Quote the hold a forward call would place", 200, "Quote", body="QuoteCreate"),
                    "parameters": [{"$ref": "#/components/parameters/ApiVersion"}],  # read-only: no Idempotency-Key
                    "security": [{"forwardToken": []}, {"secretKey": []}],
                }
            },
            "/v1/rewrite/{format}/{providerUrl}": {
                "post": {
                    "summary": "Call another provider's model in the client's own format (docs/gateway.md)",
                    "security": [{"forwardToken": []}],
                    "parameters": [
                        {
                            "name": "format",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["openai", "anthropic", "google", "bedrock"]},
                        },
                        {
                            "name": "providerUrl",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "https://host/path (raw) or host/path; the SDK's own suffix is stripped",
                        },
                    ],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": {
                        "200": {"description": "the provider's answer in the client's format (JSON or SSE)"},
                        "default": {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}},
                    },
                }
            },
            "/v1/requests": {
                "post": _op(
                    "Report usage (manual metering); idempotent on request_id", 201, "Request", body="RequestCreate"
                ),
                "get": _op(
                    "List requests",
                    200,
                    "RequestList",
                    [
                        *PAGING,
                        _q("connection_id", {"type": "string"}),
                        _q("product_id", {"type": "string"}),
                        METADATA_FILTERS,
                    ],
                ),
            },
            "/v1/requests/{request_id}": {"get": _op("Retrieve a request", 200, "Request", [_path("request_id")])},
            "/v1/usage": {
                "get": _op(
                    "Daily usage",
                    200,
                    "Usage",
                    [
                        _q("start", {"type": "string", "format": "date-time"}, required=True),
                        _q("end", {"type": "string", "format": "date-time"}),
                        _q("connection_id", {"type": "string"}),
                        _q("product_id", {"type": "string"}),
                        METADATA_FILTERS,
                    ],
                )
            },
        },
    }


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(with_plans(with_spend_keys(with_current_generation(document()))))
