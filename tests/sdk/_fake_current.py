"""An in-memory stand-in for the current API's server side , just enough for
the SDK's flow tests in test_current_flows.py until the real server lands. It answers through
``httpx.MockTransport``; its behaviour follows the spec, not our server's code."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Route = Callable[[httpx.Request, re.Match[str]], httpx.Response]
NOW = "2026-11-30T08:30:00Z"


def _err(status: int, code: str, message: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message or code, "code": code, "status": status}})


def _body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content) if request.content else {}


@dataclass
class FakeLava:
    """State of one merchant in test mode."""

    secret_key: str = "aks_test_fake"
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    meters: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    secret_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    spend_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.secret_keys["key_0"] = {
            "secret_key_id": "key_0",
            "name": "default",
            "secret_key_hint": "fake",
            "created_at": NOW,
        }
        self.routes: list[tuple[str, re.Pattern[str], Route]] = [
            (m, re.compile(f"^/v1/{p}$"), r)
            for m, p, r in [
                ("POST", "customers", self.create_customer),
                ("GET", "customers", lambda q, _: self.page(q, self.customers)),
                ("GET", "customers/([^/]+)", lambda q, m: self.found(self.customer(m[1]))),
                ("PATCH", "customers/([^/]+)", self.update_customer),
                ("GET", "customers/([^/]+)/subscription", self.subscription),
                ("DELETE", "customers/([^/]+)", self.delete_customer),
                ("POST", "meters", self.create_meter),
                ("GET", "meters", lambda q, _: self.page(q, self.meters)),
                ("GET", "meters/([^/]+)", lambda q, m: self.found(self.meters.get(m[1]))),
                ("PATCH", "meters/([^/]+)", self.update_meter),
                ("DELETE", "meters/([^/]+)", lambda q, m: self.delete(self.meters, m[1])),
                ("POST", "webhooks", self.create_webhook),
                ("GET", "webhooks", lambda q, _: self.page(q, self.webhooks)),
                ("GET", "webhooks/([^/]+)", lambda q, m: self.found(self.webhooks.get(m[1]))),
                ("PATCH", "webhooks/([^/]+)", lambda q, m: self.patch(self.webhooks, m[1], _body(q))),
                ("DELETE", "webhooks/([^/]+)", lambda q, m: self.delete(self.webhooks, m[1])),
                ("POST", "secret_keys", self.create_secret_key),
                ("GET", "secret_keys", lambda q, _: self.page(q, self.secret_keys)),
                ("DELETE", "secret_keys/([^/]+)", self.delete_secret_key),
                ("POST", "spend_keys", self.create_spend_key),
                ("GET", "spend_keys", lambda q, _: self.page(q, self.spend_keys)),
                ("GET", "spend_keys/([^/]+)", lambda q, m: self.found(self.spend_keys.get(m[1]))),
                ("PUT", "spend_keys/([^/]+)", lambda q, m: self.patch(self.spend_keys, m[1], _body(q))),
                ("DELETE", "spend_keys/([^/]+)", self.revoke_spend_key),
                ("POST", "spend_keys/([^/]+)/rotate", self.rotate_spend_key),
                ("GET", "requests", lambda q, _: self.page(q, self.requests, customer_id="customer_id")),
                ("GET", "requests/([^/]+)", lambda q, m: self.found(self.requests.get(m[1]))),
                ("POST", "forward", self.forward),
            ]
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}" and request.url.path != "/v1/forward":
            return _err(401, "authentication_failed")
        for method, pattern, route in self.routes:
            match = pattern.match(request.url.path)
            if match and method == request.method:
                return route(request, match)
        return _err(404, "not_found")

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self.ids):08d}"

    # --- generic ---------------------------------------------------------------------------

    def page(self, request: httpx.Request, table: dict[str, dict[str, Any]], **filters: str) -> httpx.Response:
        """Newest first, cursor = the last id of the previous page (the table keys are the ids)."""
        rows = [(key, row) for key, row in reversed(table.items()) if not row.get("_deleted")]
        for param, column in filters.items():
            if param in request.url.params:
                rows = [(key, row) for key, row in rows if row.get(column) == request.url.params[param]]
        ids = [key for key, _ in rows]
        cursor, limit = request.url.params.get("cursor"), int(request.url.params.get("limit", "10"))
        start = ids.index(cursor) + 1 if cursor in ids else 0
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"data": [self.public(row) for _, row in chunk], "has_more": start + limit < len(rows)}
        if body["has_more"]:
            body["next_cursor"] = ids[start + limit - 1]
        return httpx.Response(200, json=body)

    @staticmethod
    def public(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if not k.startswith("_")}

    def found(self, row: dict[str, Any] | None, status: int = 200) -> httpx.Response:
        if row is None or row.get("_deleted"):
            return _err(404, "not_found")
        return httpx.Response(status, json=self.public(row))

    def patch(self, table: dict[str, dict[str, Any]], key: str, fields: dict[str, Any]) -> httpx.Response:
        if key not in table:
            return _err(404, "not_found")
        table[key].update(fields)
        return self.found(table[key])

    def delete(self, table: dict[str, dict[str, Any]], key: str) -> httpx.Response:
        if table.pop(key, None) is None:
            return _err(404, "not_found")
        return httpx.Response(200, json={"id": key, "deleted": True})

    # --- customers ---------------------------------------------------------------------------

    def customer(self, ref: str) -> dict[str, Any] | None:
        return self.customers.get(ref) or next((c for c in self.customers.values() if c["reference_id"] == ref), None)

    def create_customer(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _body(request)
        existing = self.customer(body["reference_id"]) if body.get("reference_id") else None
        if existing is not None:
            return self.found(existing)
        first, _, last = (body.get("name") or "").partition(" ")
        contact = {"phone": body.get("phone") or "", "email": body.get("email") or "", "first_name": first}
        row = {"customer_id": self.new_id("con"), "reference_id": body.get("reference_id")}
        row |= {"contact": contact | {"last_name": last}, "subscription": None, "metadata": body.get("metadata")}
        self.customers[row["customer_id"]] = row = row | {"created_at": NOW}
        return self.found(row, 201)

    def update_customer(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        row, body = self.customer(match[1]), _body(request)
        if row is None or row.get("_deleted"):
            return _err(404, "not_found")
        if body.get("reference_id") and self.customer(body["reference_id"]) not in (None, row):
            return _err(409, "reference_id_conflict")
        for name in ("email", "phone"):
            if name in body:
                row["contact"][name] = body[name] or ""
        if "name" in body:
            first, _, last = (body["name"] or "").partition(" ")
            row["contact"] |= {"first_name": first, "last_name": last}
        row |= {k: body[k] for k in ("reference_id", "metadata") if k in body}
        return self.found(row)

    def subscription(self, _: httpx.Request, match: re.Match[str]) -> httpx.Response:
        row = self.customer(match[1])
        return _err(404, "not_found") if row is None else httpx.Response(200, json={"subscription": None})

    def delete_customer(self, _: httpx.Request, match: re.Match[str]) -> httpx.Response:
        row = self.customer(match[1])
        if row is None:
            return _err(404, "not_found")
        row["_deleted"] = True
        return httpx.Response(200, json={"success": True})

    # --- meters, webhooks, keys ----------------------------------------------------------------

    def create_meter(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _body(request)
        slug = body.get("meter_slug") or re.sub(r"[^a-z0-9]+", "-", body["name"].lower()).strip("-")
        if any(m["meter_slug"] == slug for m in self.meters.values()):
            return _err(409, "meter_slug_taken")
        tiers = [{"start": int(t["start"]), "rate": t["rate"], "type": body["tier_type"]} for t in body["tiers"]]
        row = {"meter_id": self.new_id("prd"), "meter_slug": slug, "name": body["name"]}
        self.meters[row["meter_id"]] = row | {"rate_type": body["rate_type"], "tiers": tiers, "created_at": NOW}
        return self.found(self.meters[row["meter_id"]], 201)

    def update_meter(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        body, row = _body(request), self.meters.get(match[1])
        if row is None:
            return _err(404, "not_found")
        if {"rate_type", "tier_type", "meter_slug"} & set(body):
            return _err(400, "immutable_field")
        if "tiers" in body:
            kind = row["tiers"][0]["type"]
            body["tiers"] = [{"start": int(t["start"]), "rate": t["rate"], "type": kind} for t in body["tiers"]]
        return self.patch(self.meters, match[1], body)

    def create_webhook(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        if len(self.webhooks) >= 3:
            return _err(400, "webhook_limit_reached")
        row = {"webhook_id": self.new_id("wh"), **_body(request), "created_at": NOW}
        self.webhooks[row["webhook_id"]] = row
        return httpx.Response(201, json=row | {"webhook_secret": f"whsec_{secrets.token_hex(8)}"})

    def create_secret_key(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        key = f"aks_test_{secrets.token_hex(12)}"
        row = {"secret_key_id": self.new_id("key"), "name": _body(request)["name"], "secret_key_hint": key[-4:]}
        self.secret_keys[row["secret_key_id"]] = row | {"created_at": NOW, "_fresh": True}
        return httpx.Response(201, json=self.public(self.secret_keys[row["secret_key_id"]]) | {"secret_key": key})

    def delete_secret_key(self, _: httpx.Request, match: re.Match[str]) -> httpx.Response:
        if match[1] in self.secret_keys and len(self.secret_keys) == 1:
            return _err(400, "last_secret_key")
        if self.secret_keys.get(match[1], {}).get("_fresh"):  # the fake's clock never passes the 15 s
            return _err(409, "secret_key_cooldown")
        return self.delete(self.secret_keys, match[1])

    def create_spend_key(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body, key = _body(request), f"lava_sk_test_{secrets.token_hex(12)}"
        row = {"spend_key_id": self.new_id("spk"), "key_preview": key[:16] + "****", "name": body["name"]}
        row |= {"status": body.get("status", "active"), "request_shape": body.get("request_shape", "openai")}
        row |= {"wallet_id": "wal_test_1", "current_spend": "0.0000000000", "total_spend": "0.0000000000"}
        row |= {"current_requests": 0, "total_requests": 0, "last_used_at": None, "created_at": NOW}
        for name in ("allowed_models", "allowed_providers", "spend_limit", "request_limit", "rate_limit", "expires_at"):
            row[name] = body.get(name)
        self.spend_keys[row["spend_key_id"]] = row | {"_key": key}
        return httpx.Response(201, json=row | {"key": key})

    def revoke_spend_key(self, _: httpx.Request, match: re.Match[str]) -> httpx.Response:
        return (
            httpx.Response(200, json={"success": True})
            if self.spend_keys.pop(match[1], None)
            else _err(404, "not_found")
        )

    def rotate_spend_key(self, _: httpx.Request, match: re.Match[str]) -> httpx.Response:
        row = self.spend_keys.get(match[1])
        if row is None:
            return _err(404, "not_found")
        row["_key"] = f"lava_sk_test_{secrets.token_hex(12)}"
        return httpx.Response(200, json=self.public(row) | {"key": row["_key"]})

    # --- the gateway -------------------------------------------------------------------------

    def forward(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            fields = json.loads(base64.b64decode(token))
        except (binascii.Error, ValueError):
            return _err(401, "invalid_forward_token")
        if fields.get("secret_key") != self.secret_key or (fields.get("customer_id") and not fields.get("meter_slug")):
            return _err(401, "invalid_forward_token")
        customer = self.customer(fields["customer_id"]) if fields.get("customer_id") else None
        if fields.get("customer_id") and customer is None:
            return _err(401, "invalid_customer")
        meter = next((m for m in self.meters.values() if m["meter_slug"] == fields.get("meter_slug")), None)
        if fields.get("meter_slug") and meter is None:
            return _err(401, "invalid_meter_slug")
        charged = customer is not None and not fields.get("disable_billing")
        record = {"request_id": self.new_id("req"), "status": "completed", "provider": "openai"}
        record |= {"customer_id": customer and customer["customer_id"], "meter_id": meter and meter["meter_id"]}
        record |= {"provider_key_type": "unmanaged" if fields.get("provider_key") else "managed"}
        record |= {"endpoint": f"POST {request.url.params['u']}", "metadata": {}, "created_at": NOW}
        usage = {"input_tokens": 600000, "output_tokens": 400000, "total_tokens": 1000000}
        record |= {"model_usage": {**usage, "input_cost": "0.09", "output_cost": "0.24", "total_cost": "0.33"}}
        amount = "5.0000000000" if charged else "0.0000000000"
        record |= {"cost": "0.3300000000", "charge": {"amount": amount, "rate_type": "fixed", "breakdown": []}}
        self.requests[record["request_id"]] = record
        headers = {"x-lava-request-id": record["request_id"]}
        if _body(request).get("stream"):
            sse = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'
            return httpx.Response(200, headers=headers | {"content-type": "text/event-stream"}, content=sse)
        headers |= {"x-lava-request-cost": "5.3300000000" if charged else "0.3300000000"}
        return httpx.Response(200, headers=headers, json={"choices": [{"message": {"content": "Hi"}}]})
