"""The current API generation in /openapi.json (docs/current-api.md), added to the 2025 document.

Both generations are served from one model and chosen per request by profile (``profiles.py``):
the 2025 schemas gain the current fields as optional properties (the ``compat`` union), the
current-only shapes get their own schemas, and shared paths answer with either shape.
"""

from __future__ import annotations

import copy
from typing import Any

from .render_current import CURRENT_MODEL_USAGE

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{10}$", "description": "USD, 10 fractional digits"}
TIMESTAMP = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": "number", "minimum": 0}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIER_TYPES = ["tokens_1m", "characters_1m", "minutes", "requests"]
PROFILE_NOTE = (
    "Shape by profile: a legacy X-Lava-API-Version header gets the 2025 shape; no header gets the "
    "merchant's default profile (compat: both generations' fields; current: only the current ones)."
)


def _obj(required: list[str], props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props, **extra}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return _obj(
        ["data", "has_more"],
        {"data": {"type": "array", "items": _ref(name)}, "has_more": {"type": "boolean"}, "next_cursor": STRING},
    )


CHARGE = _obj(
    ["amount", "rate_type", "breakdown"],
    {
        "amount": MONEY,
        "rate_type": {"type": "string", "enum": ["fixed", "percentage"]},
        "breakdown": {
            "type": "array",
            "items": _obj(
                ["tier", "tokens", "characters", "seconds", "cost"],
                {"tier": _ref("FeeTier"), "tokens": COUNT, "characters": COUNT, "seconds": SECONDS, "cost": MONEY},
            ),
        },
    },
)
CURRENT_REQUEST_FIELDS: dict[str, Any] = {
    "customer_id": {**STRING, "description": "the customer (= connection) charged or recorded"},
    "meter_id": {**STRING, "description": "the meter (= product)"},
    "cost": {**MONEY, "description": "the provider cost (= model_usage.total_cost)"},
    "charge": CHARGE,
    "spend_key_id": {**STRING, "description": "the spend key the call was made with (only when there was one)"},
}
MODEL_USAGE_KEYS = list(CURRENT_MODEL_USAGE)  # the schema lists exactly what render_current sends
USAGE_CURRENT_FIELDS = {"total_cost": MONEY, "total_charge": MONEY}
USAGE_8X_FIELDS = {"total_gross_volume": MONEY, "total_net_volume": MONEY}

SCHEMAS: dict[str, Any] = {
    "Customer": _obj(
        ["customer_id", "reference_id", "contact", "subscription", "metadata", "created_at"],
        {
            "customer_id": {"type": "string", "pattern": "^con_"},
            "reference_id": NULLABLE_STRING,
            "contact": _obj(
                ["phone", "email", "first_name", "last_name"],
                {"phone": STRING, "email": STRING, "first_name": STRING, "last_name": STRING},
            ),
            "subscription": {"type": ["object", "null"]},
            "metadata": {"type": ["object", "null"]},
            "created_at": TIMESTAMP,
        },
        additionalProperties=False,
    ),
    "CustomerCreate": _obj(
        [],
        {
            "reference_id": {"type": "string", "maxLength": 255, "description": "never starts with con_"},
            "name": {"type": "string", "maxLength": 255},
            "email": STRING,
            "phone": {"type": "string", "description": "E.164"},
            "metadata": {"type": "object"},
        },
    ),
    "CustomerUpdate": _obj(
        [],
        {
            "reference_id": NULLABLE_STRING,
            "name": NULLABLE_STRING,
            "email": NULLABLE_STRING,
            "phone": NULLABLE_STRING,
            "metadata": {"type": ["object", "null"]},
        },
    ),
    "CustomerSubscription": _obj(["subscription"], {"subscription": {"type": ["object", "null"]}}),
    "MeterTier": _obj(
        ["start", "rate", "type"],
        {"start": COUNT, "rate": STRING, "type": {"type": "string", "enum": TIER_TYPES}},
    ),
    "Meter": _obj(
        ["meter_id", "meter_slug", "name", "rate_type", "tiers", "created_at"],
        {
            "meter_id": {"type": "string", "pattern": "^prd_"},
            "meter_slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
            "name": STRING,
            "rate_type": {"type": "string", "enum": ["fixed", "percentage"]},
            "tiers": {"type": "array", "items": _ref("MeterTier"), "minItems": 1},
            "created_at": TIMESTAMP,
            "token_basis": {"type": "string", "enum": ["input+output", "output"], "description": "compat only"},
            "base_cost_payer": {"type": "string", "enum": ["wallet", "merchant"], "description": "compat only"},
            "service_charge_payer": {"type": "string", "enum": ["wallet", "merchant"], "description": "compat only"},
        },
    ),
    "MeterCreate": _obj(
        ["name", "rate_type", "tier_type", "tiers"],
        {
            "name": {"type": "string", "maxLength": 255},
            "meter_slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
            "rate_type": {"type": "string", "enum": ["fixed", "percentage"]},
            "tier_type": {"type": "string", "enum": TIER_TYPES},
            "tiers": {
                "type": "array",
                "minItems": 1,
                "items": _obj(
                    ["start", "rate"],
                    {"start": {"type": ["string", "integer"]}, "rate": {"type": ["string", "number"]}},
                ),
            },
        },
    ),
    "MeterUpdate": _obj([], {"name": STRING, "tiers": {"type": "array"}}),
    "Deleted": _obj(["id", "deleted"], {"id": STRING, "deleted": {"type": "boolean", "const": True}}),
    "SecretKey": _obj(
        ["secret_key_id", "name", "secret_key_hint", "created_at"],
        {
            "secret_key_id": {"type": "string", "pattern": "^key_"},
            "name": STRING,
            "secret_key_hint": {"type": "string", "minLength": 4, "maxLength": 4},
            "created_at": TIMESTAMP,
        },
        additionalProperties=False,
    ),
    "SecretKeyCreate": _obj(["name"], {"name": {"type": "string", "maxLength": 255}}),
    "SecretKeyCreated": _obj(
        ["secret_key_id", "name", "secret_key_hint", "created_at", "secret_key"],
        {
            "secret_key_id": STRING,
            "name": STRING,
            "secret_key_hint": STRING,
            "created_at": TIMESTAMP,
            "secret_key": {"type": "string", "pattern": "^aks_(test|live)_", "description": "shown once"},
        },
    ),
    "ModelList": _obj(
        ["object", "data"],
        {
            "object": {"const": "list"},
            "data": {
                "type": "array",
                "items": _obj(
                    ["id", "object", "created", "owned_by"],
                    {"id": STRING, "object": {"const": "model"}, "created": COUNT, "owned_by": STRING},
                    additionalProperties=False,
                ),
            },
        },
    ),
    "RequestCurrent": _obj(
        [
            "request_id",
            "status",
            "provider",
            "provider_key_type",
            "endpoint",
            "model_usage",
            "cost",
            "charge",
            "metadata",
            "created_at",
        ],
        {
            "request_id": STRING,
            "status": {"type": "string", "enum": ["pending", "completed", "error"]},
            "customer_id": STRING,
            "meter_id": STRING,
            "provider": STRING,
            "provider_key_type": {"type": "string", "enum": ["managed", "unmanaged", "stored"]},
            "model": STRING,
            "endpoint": STRING,
            "response_id": STRING,
            "model_usage": _obj(
                MODEL_USAGE_KEYS,
                {
                    k: (MONEY if k.endswith("_cost") else SECONDS if k.endswith("_seconds") else COUNT)
                    for k in MODEL_USAGE_KEYS
                },
                additionalProperties=False,
            ),
            "cost": MONEY,
            "charge": CHARGE,
            "metadata": {"type": "object", "additionalProperties": STRING},
            "spend_key_id": STRING,
            "timestamp": TIMESTAMP,
            "created_at": TIMESTAMP,
        },
        additionalProperties=False,
    ),
    "UsageItemCurrent": _obj(
        ["date", "start", "end", "total_requests", "total_usage_tokens", "total_cost", "total_charge"],
        {
            "date": {"type": "string", "format": "date"},
            "start": TIMESTAMP,
            "end": TIMESTAMP,
            "total_requests": COUNT,
            "total_usage_tokens": COUNT,
            **USAGE_CURRENT_FIELDS,
        },
    ),
    "UsageTotalsCurrent": _obj(
        ["total_requests", "total_usage_tokens", "total_cost", "total_charge"],
        {"total_requests": COUNT, "total_usage_tokens": COUNT, **USAGE_CURRENT_FIELDS},
    ),
}
SCHEMAS["CustomerList"] = _list_of("Customer")
SCHEMAS["MeterList"] = _list_of("Meter")
SCHEMAS["SecretKeyList"] = _list_of("SecretKey")
SCHEMAS["RequestCurrentList"] = _list_of("RequestCurrent")
SCHEMAS["UsageCurrent"] = _obj(
    ["items", "totals"],
    {"items": {"type": "array", "items": _ref("UsageItemCurrent")}, "totals": _ref("UsageTotalsCurrent")},
)


def _op(
    summary: str, status: int, schema: dict[str, Any], params: list[Any] | None = None, body: str | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "security": [{"secretKey": []}],
        "responses": {
            str(status): {"description": "OK", "content": {"application/json": {"schema": schema}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": _ref(body)}}}
        if status == 201:  # REST creates honour Idempotency-Key like every other REST POST
            op["parameters"].append({"$ref": "#/components/parameters/IdempotencyKey"})
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


PAGING = [
    {"name": "cursor", "in": "query", "required": False, "schema": STRING},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
REF = _path("ref") | {"description": "a con_ id or the customer's reference_id"}

PATHS: dict[str, Any] = {
    "/v1/customers": {
        "get": _op(
            "List customers",
            200,
            _ref("CustomerList"),
            [*PAGING, {"name": "reference_id", "in": "query", "schema": STRING}],
        ),
        "post": _op(
            "Create a customer (200 with the existing one on a reference_id replay)",
            201,
            _ref("Customer"),
            body="CustomerCreate",
        ),
    },
    "/v1/customers/{ref}": {
        "get": _op("Retrieve a customer", 200, _ref("Customer"), [REF]),
        "patch": _op(
            "Update a customer (null clears; metadata replaced)", 200, _ref("Customer"), [REF], "CustomerUpdate"
        ),
        "delete": _op("Delete (soft) a customer", 200, _ref("DeleteResult"), [REF]),
    },
    "/v1/customers/{ref}/subscription": {
        "get": _op("A customer's subscription (null until plans exist)", 200, _ref("CustomerSubscription"), [REF])
    },
    "/v1/meters": {
        "get": _op("List meters", 200, _ref("MeterList"), PAGING),
        "post": _op("Create a meter", 201, _ref("Meter"), body="MeterCreate"),
    },
    "/v1/meters/{meter_id}": {
        "get": _op("Retrieve a meter", 200, _ref("Meter"), [_path("meter_id")]),
        "patch": _op("Update a meter's name or tiers", 200, _ref("Meter"), [_path("meter_id")], "MeterUpdate"),
        "delete": _op(
            "Delete (soft) a meter; past requests keep their price", 200, _ref("Deleted"), [_path("meter_id")]
        ),
    },
    "/v1/secret_keys": {
        "get": _op("List secret keys (hints only)", 200, _ref("SecretKeyList"), PAGING),
        "post": _op("Create a secret key (shown once)", 201, _ref("SecretKeyCreated"), body="SecretKeyCreate"),
    },
    "/v1/secret_keys/{key_id}": {
        "delete": _op("Revoke a secret key (not the last; not within 15 s)", 200, _ref("Deleted"), [_path("key_id")])
    },
    "/v1/models": {"get": {**_op("Models the gateway can route and price", 200, _ref("ModelList")), "security": []}},
}

# Shared paths: which schema each generation's answer follows.
SHARED_RESPONSES = {
    ("/v1/requests", "get"): ("RequestList", "RequestCurrentList"),
    ("/v1/requests", "post"): ("Request", "RequestCurrent"),
    ("/v1/requests/{request_id}", "get"): ("Request", "RequestCurrent"),
    ("/v1/usage", "get"): ("Usage", "UsageCurrent"),
}


def with_current_generation(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (the 2025 document) plus the current generation; ``doc`` itself is not changed."""
    out = copy.deepcopy(doc)
    schemas = out["components"]["schemas"]
    schemas["Request"]["properties"].update(copy.deepcopy(CURRENT_REQUEST_FIELDS))
    schemas["Request"]["properties"]["request_id"] = {
        **STRING,
        "description": "req_… or the id POST /v1/requests was given",
    }
    schemas["Request"]["properties"]["provider_key_type"]["enum"] = ["managed", "unmanaged", "stored"]
    for name in ("UsageItem", "UsageTotals"):
        schemas[name]["properties"].update({**USAGE_CURRENT_FIELDS, **USAGE_8X_FIELDS})
    schemas["Connection"]["properties"].update(
        {
            "has_lava_credit_balance": {"type": "boolean"},
            "customer": {"type": "object"},
            "subscription": {"type": ["object", "null"]},
        }
    )
    out["paths"]["/v1/connections/{connection_id}/subscription"] = {
        "get": _op(
            "The 8.x path of a customer's subscription", 200, _ref("CustomerSubscription"), [_path("connection_id")]
        )
    }
    session = schemas["CheckoutSession"]["properties"]
    session["customer_id"] = STRING
    schemas.update(copy.deepcopy(SCHEMAS))
    out["paths"].update(copy.deepcopy(PATHS))
    for (path, method), (legacy, current) in SHARED_RESPONSES.items():
        op = out["paths"].get(path, {}).get(method)
        if op is None:
            continue
        for status, response in op["responses"].items():
            if status != "default":
                response["content"]["application/json"]["schema"] = {"anyOf": [_ref(legacy), _ref(current)]}
        op["description"] = PROFILE_NOTE
    body = out["paths"].get("/v1/requests", {}).get("post", {}).get("requestBody")
    if body is not None:
        body["content"]["application/json"]["schema"] = {
            "anyOf": [
                _ref("RequestCreate"),
                _obj(["request_id", "customer_id", "meter_slug"], {"customer_id": STRING, "meter_slug": STRING}),
            ]
        }
    return out
