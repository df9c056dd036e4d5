"""``/v1/spend_keys`` in /openapi.json (docs/spend-keys.md), added to the served document."""

from __future__ import annotations

import copy
from typing import Any

from .openapi_current import COUNT, MONEY, NULLABLE_STRING, PAGING, STRING, TIMESTAMP, _list_of, _obj, _op, _path, _ref

CYCLE = {"type": "string", "enum": ["daily", "weekly", "monthly", "total"]}
NAMES = {"type": ["array", "null"], "items": STRING}
SPEND_LIMIT = _obj(["amount", "cycle"], {"amount": MONEY, "cycle": CYCLE})
REQUEST_LIMIT = _obj(["count", "cycle"], {"count": {"type": "integer", "minimum": 1}, "cycle": CYCLE})
RATE_LIMIT = _obj(["rpm", "burst"], {"rpm": {"type": "integer", "minimum": 1}, "burst": {"type": ["integer", "null"]}})
_FIELDS: dict[str, Any] = {
    "spend_key_id": STRING,
    "key_preview": {**STRING, "description": "lava_sk_ + 8 characters + ****"},
    "name": STRING,
    "status": {"type": "string", "enum": ["active", "paused"]},
    "request_shape": {"type": "string", "enum": ["openai", "anthropic"]},
    "wallet_id": {**STRING, "description": "the merchant id: the key spends from the merchant's ledger"},
    "allowed_models": NAMES,
    "allowed_providers": NAMES,
    "spend_limit": {"anyOf": [SPEND_LIMIT, {"type": "null"}]},
    "current_spend": MONEY,
    "total_spend": MONEY,
    "request_limit": {"anyOf": [REQUEST_LIMIT, {"type": "null"}]},
    "current_requests": COUNT,
    "total_requests": COUNT,
    "rate_limit": {"anyOf": [RATE_LIMIT, {"type": "null"}]},
    "expires_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
    "last_used_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
    "created_at": TIMESTAMP,
}
_INPUT: dict[str, Any] = {
    "name": STRING,
    "status": _FIELDS["status"],
    "request_shape": _FIELDS["request_shape"],
    "allowed_models": NAMES,
    "allowed_providers": NAMES,
    "spend_limit": {
        "anyOf": [
            _obj(["amount", "cycle"], {"amount": {"type": ["string", "number"]}, "cycle": CYCLE}),
            {"type": "null"},
        ]
    },
    "request_limit": {"anyOf": [REQUEST_LIMIT, {"type": "null"}]},
    "rate_limit": {
        "anyOf": [
            _obj(["rpm"], {"rpm": {"type": "integer", "minimum": 1}, "burst": {"type": ["integer", "null"]}}),
            {"type": "null"},
        ]
    },
    "expires_at": NULLABLE_STRING,
}
SCHEMAS: dict[str, Any] = {
    "SpendKey": _obj(list(_FIELDS), _FIELDS, additionalProperties=False),
    "SpendKeyCreated": _obj([*_FIELDS, "key"], {**_FIELDS, "key": STRING}, additionalProperties=False),
    "SpendKeyList": _list_of("SpendKey"),
    "SpendKeyCreate": _obj(["name"], _INPUT),
    "SpendKeyUpdate": _obj([], _INPUT),
    "SpendKeyRevoked": _obj(["success"], {"success": {"type": "boolean"}}),
}
ID = _path("spend_key_id")
PATHS: dict[str, Any] = {
    "/v1/spend_keys": {
        "get": _op("List spend keys (previews only; revoked keys are not listed)", 200, _ref("SpendKeyList"), PAGING),
        "post": _op("Create a spend key (the key is shown once)", 201, _ref("SpendKeyCreated"), body="SpendKeyCreate"),
    },
    "/v1/spend_keys/{spend_key_id}": {
        "get": _op("Retrieve a spend key", 200, _ref("SpendKey"), [ID]),
        "put": _op("Update a spend key (partial; null clears)", 200, _ref("SpendKey"), [ID], "SpendKeyUpdate"),
        "delete": _op("Revoke a spend key (it fails at once)", 200, _ref("SpendKeyRevoked"), [ID]),
    },
    "/v1/spend_keys/{spend_key_id}/rotate": {
        "post": _op("Rotate: a new key, settings and counters kept", 200, _ref("SpendKeyCreated"), [ID]),
    },
}


def with_spend_keys(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` plus the spend-key schemas and paths (``doc`` itself is not changed)."""
    out = copy.deepcopy(doc)
    out["components"]["schemas"].update(copy.deepcopy(SCHEMAS))
    paths = copy.deepcopy(PATHS)
    for item in paths.values():  # REST writes honour Idempotency-Key like every other POST
        if "post" in item:
            item["post"]["parameters"].append({"$ref": "#/components/parameters/IdempotencyKey"})
    out["paths"].update(paths)
    return out
