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
from .openapi_spend_keys import with_spend_keys

routes = web.RouteTableDef()

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{10}$", "description": "USD, 10 fractional digits"}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}
COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": "number", "minimum": 0}


def _obj(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _list_of(ref: str) -> dict[str, Any]:
    return _obj(
        ["data", "has_more"],
        {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
    )


SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        ["error"],
        {
            "error": _obj(
                ["message", "code", "status"],
                {"message": {"type": "string"}, "code": {"type": "string"}, "status": {"type": "integer"}},
            )
        },
    ),
    "CheckoutSessionCreate": _obj(
        ["checkout_mode", "origin_url"],
        {
            "checkout_mode": {"type": "string", "enum": ["onboarding", "topup"]},
            "origin_url": {"type": "string", "format": "uri"},
            "reference_id": {"type": "string", "maxLength": 255},
            "connection_id": {"type": "string", "description": "required when checkout_mode is topup"},
        },
    ),
    "CheckoutSession": _obj(
        ["checkout_session_id", "checkout_session_token", "checkout_mode", "origin_url", "created_at"],
        {
            "checkout_session_id": {"type": "string", "pattern": "^cs_"},
            "checkout_session_token": {"type": "string", "description": "base64 of JSON {secret, base}"},
            "checkout_mode": {"type": "string", "enum": ["onboarding", "topup"]},
            "origin_url": {"type": "string"},
            "connection_id": NULLABLE_STRING,
            "reference_id": NULLABLE_STRING,
            "created_at": TIMESTAMP,
            "completed_at": NULLABLE_TIMESTAMP,
            "expires_at": TIMESTAMP,
        },
    ),
    "Wallet": _obj(
        ["balance"],
        {
            "balance": {**MONEY, "description": "available balance: funds minus open holds"},
            "phone": NULLABLE_STRING,
            "email": NULLABLE_STRING,
            "first_name": NULLABLE_STRING,
            "last_name": NULLABLE_STRING,
            "autopay_enabled": {"type": "boolean"},
        },
    ),
    "Connection": _obj(
        ["connection_id", "wallet", "created_at"],
        {
            "connection_id": {"type": "string", "pattern": "^con_"},
            "connection_secret": {"type": "string", "pattern": "^cons_(test|live)_"},
            "reference_id": NULLABLE_STRING,
            "wallet": {"$ref": "#/components/schemas/Wallet"},
            "next_usage_reset": TIMESTAMP,
            "previous_usage_reset": TIMESTAMP,
            "created_at": TIMESTAMP,
            "status": {"type": "string", "enum": ["ok", "deleted"]},
            "deleted_at": TIMESTAMP,
        },
    ),
    "DeleteResult": _obj(["success"], {"success": {"type": "boolean", "const": True}}),
    "FeeTier": _obj(
        ["start", "rate", "type"],
        {
            "start": COUNT,
            "rate": {"type": "string"},
            "type": {"type": "string", "enum": ["tokens_1m", "characters_1m", "minutes", "requests"]},
        },
    ),
    "Request": _obj(
        [
            "request_id",
            "status",
            "provider",
            "provider_key_type",
            "endpoint",
            "model_usage",
            "fee",
            "service_charge",
            "total_request_cost",
            "total_wallet_cost",
            "total_merchant_cost",
            "metadata",
            "created_at",
        ],
        {
            "request_id": {"type": "string", "pattern": "^req_"},
            "status": {"type": "string", "enum": ["pending", "completed", "error"]},
            "connection_id": NULLABLE_STRING,
            "product_id": NULLABLE_STRING,
            "provider": {"type": "string"},
            "provider_key_type": {"type": "string", "enum": ["managed", "unmanaged", "stored"]},
            "model": NULLABLE_STRING,
            "endpoint": {"type": "string"},
            "client_format": {"type": "string", "enum": ["openai", "anthropic", "google", "bedrock"]},
            "response_id": NULLABLE_STRING,
            "model_usage": _obj(
                [
                    "input_tokens",
                    "output_tokens",
                    "total_tokens",
                    "input_cost",
                    "output_cost",
                    "total_cost",
                    "payer",
                ],
                {
                    "input_tokens": COUNT,
                    "output_tokens": COUNT,
                    "total_tokens": COUNT,
                    "cached_input_tokens": COUNT,
                    "cache_write_tokens": COUNT,
                    "reasoning_tokens": COUNT,
                    "input_characters": COUNT,
                    "output_characters": COUNT,
                    "total_characters": COUNT,
                    "input_seconds": SECONDS,
                    "output_seconds": SECONDS,
                    "total_seconds": SECONDS,
                    "input_cost": MONEY,
                    "output_cost": MONEY,
                    "total_cost": MONEY,
                    "payer": {"type": "string", "enum": ["wallet", "merchant"]},
                    "estimated": {"type": "boolean"},
                },
            ),
            "fee": _obj(
                ["amount", "rate_type", "token_basis", "breakdown"],
                {
                    "amount": MONEY,
                    "rate_type": {"type": "string", "enum": ["fixed", "percentage"]},
                    "token_basis": {"type": "string", "enum": ["input+output", "output"]},
                    "breakdown": {
                        "type": "array",
                        "items": _obj(
                            ["tier", "cost"],
                            {
                                "tier": {"$ref": "#/components/schemas/FeeTier"},
                                "tokens": COUNT,
                                "characters": COUNT,
                                "seconds": SECONDS,
                                "cost": MONEY,
                            },
                        ),
                    },
                },
            ),
            "service_charge": _obj(
                ["amount", "payer"],
                {"amount": MONEY, "payer": {"type": "string", "enum": ["wallet", "merchant"]}},
            ),
            "total_request_cost": MONEY,
            "total_wallet_cost": MONEY,
            "total_merchant_cost": MONEY,
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "timestamp": NULLABLE_TIMESTAMP,
            "created_at": TIMESTAMP,
        },
    ),
    "UsageItem": _obj(
        [
            "date",
            "start",
            "end",
            "total_requests",
            "total_usage_tokens",
            "total_usage_cost",
            "total_fee_amount",
            "total_service_charge_amount",
            "total_request_cost",
            "total_wallet_cost",
            "total_merchant_cost",
        ],
        {
            "date": {"type": "string", "format": "date"},
            "start": TIMESTAMP,
            "end": TIMESTAMP,
            "total_requests": COUNT,
            "total_usage_tokens": COUNT,
            "total_usage_cost": MONEY,
            "total_fee_amount": MONEY,
            "total_service_charge_amount": MONEY,
            "total_request_cost": MONEY,
            "total_wallet_cost": MONEY,
            "total_merchant_cost": MONEY,
        },
    ),
}
SCHEMAS["UsageTotals"] = {
    **SCHEMAS["UsageItem"],
    "required": [r for r in SCHEMAS["UsageItem"]["required"] if r not in ("date", "start", "end")],
}
SCHEMAS["Usage"] = _obj(
    ["items", "totals"],
    {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/UsageItem"}},
        "totals": {"$ref": "#/components/schemas/UsageTotals"},
    },
)
SCHEMAS["RequestCreate"] = _obj(
    ["request_id", "connection_secret"],
    {
        "request_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"},
        "connection_secret": {"type": "string"},
        "product_secret": {"type": ["string", "null"]},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "input_tokens": COUNT,
        "output_tokens": COUNT,
        "input_characters": COUNT,
        "output_characters": COUNT,
        "input_seconds": SECONDS,
        "output_seconds": SECONDS,
    },
)
SCHEMAS["QuoteCreate"] = _obj(
    ["url"],
    {"url": {"type": "string", "format": "uri"}, "body": {"type": "object"}, "method": {"type": "string"}},
)
SCHEMAS["Quote"] = _obj(
    ["hold", "provider", "sufficient"],
    {
        "hold": MONEY,
        "provider": {"type": "string"},
        "model": NULLABLE_STRING,
        "prompt_tokens_estimate": COUNT,
        "max_output_tokens": COUNT,
        "available_balance": {"type": ["string", "null"]},
        "sufficient": {"type": "boolean"},
    },
)
SCHEMAS["CheckoutSessionList"] = _list_of("CheckoutSession")
SCHEMAS["ConnectionList"] = _list_of("Connection")
SCHEMAS["RequestList"] = _list_of("Request")


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
