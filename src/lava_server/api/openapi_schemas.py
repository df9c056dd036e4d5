"""The shared components of /openapi.json: the scalar shapes (money strings, timestamps, counts)
and the 2025 API's response and request schemas (``SCHEMAS``), referenced by every path.

The paths and the served document are in ``openapi.py``.
"""

from __future__ import annotations

from typing import Any

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
