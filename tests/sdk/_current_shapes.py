"""Response bodies of the current API, shaped exactly as Node 11.2.0's ``index.d.ts`` types them
(and the current API): the fields of the type, nothing more. Money is 10-digit strings."""

from __future__ import annotations

from typing import Any

CUSTOMER: dict[str, Any] = {
    "customer_id": "con_01K7QJT2YR00E6FF5B9WAXP0GB",
    "reference_id": "user_123",
    "contact": {"phone": "+14155552671", "email": "jane@example.com", "first_name": "Jane", "last_name": "Smith"},
    "subscription": {"subscription_id": "sub_01K7", "plan_id": "sc_01K7", "name": "Free", "status": "active"},
    "metadata": {"tier": "gold", "seats": 3},
    "created_at": "2026-11-30T08:30:00Z",
}

METER: dict[str, Any] = {
    "meter_id": "prd_01K7",
    "meter_slug": "chat",
    "name": "Chat",
    "rate_type": "fixed",
    "tiers": [
        {"start": 0, "rate": "5.0000000000", "type": "tokens_1m"},
        {"start": 1000000, "rate": "4.0000000000", "type": "tokens_1m"},
    ],
    "created_at": "2026-11-30T08:30:00Z",
}

PLAN: dict[str, Any] = {
    "plan_id": "sc_01K7",
    "merchant_id": "mer_01K7",
    "name": "Pro",
    "period_amount": "20.0000000000",
    "included_credit": "15.0000000000",
    "billing_interval": "month",
    "rollover_type": "full",
    "bundle_rollover_type": "none",
    "default_auto_top_up_bundle_id": "cb_01K7",
    "linked_meters": [{"meter_id": "prd_01K7", "name": "Chat"}],
    "credit_bundles": [
        {"credit_bundle_id": "cb_01K7", "name": "Boost", "cost": "5.0000000000", "credit_amount": "6.0000000000"}
    ],
    "created_at": "2026-11-30T08:30:00Z",
}

CREDIT_BUNDLE: dict[str, Any] = {
    "credit_bundle_id": "cb_01K7",
    "plan_id": "sc_01K7",
    "name": "Boost",
    "cost": "5.0000000000",
    "credit_amount": "6.0000000000",
    "created_at": "2026-11-30T08:30:00Z",
}

SUBSCRIPTION_BASE: dict[str, Any] = {
    "subscription_id": "sub_01K7",
    "plan_id": "sc_01K7",
    "status": "active",
    "auto_top_up_bundle_id": None,
    "started_at": "2026-11-01T00:00:00Z",
    "cancelled_at": None,
    "cycle_start_at": "2026-11-01T00:00:00Z",
    "cycle_end_at": "2026-12-01T00:00:00Z",
    "plan": {
        "name": "Pro",
        "period_amount": "20.0000000000",
        "included_credit": "15.0000000000",
        "billing_interval": "month",
        "rollover_type": "full",
        "bundle_rollover_type": "none",
    },
    "credits": {
        "total_remaining": "-0.2500000000",
        "cycle_remaining": "-1.2500000000",
        "bundle_remaining": "1.0000000000",
    },
    "pending_change": {"type": "cancellation", "effective_at": "2026-12-01T00:00:00Z"},
}

SUBSCRIPTION: dict[str, Any] = {
    **SUBSCRIPTION_BASE,
    "customer_id": "con_01K7",
    "customer": {"phone": "+14155552671", "email": "jane@example.com"},
}

WEBHOOK: dict[str, Any] = {
    "webhook_id": "wh_01K7",
    "name": "billing",
    "url": "https://shop.example/hooks/lava",
    "created_at": "2026-11-30T08:30:00Z",
}

SECRET_KEY: dict[str, Any] = {
    "secret_key_id": "key_01K7",
    "name": "ci",
    "secret_key_hint": "x9Qz",
    "created_at": "2026-11-30T08:30:00Z",
}

SPEND_KEY: dict[str, Any] = {
    "spend_key_id": "spk_01K7",
    "key_preview": "lava_sk_abcdefgh****",
    "name": "agent",
    "status": "active",
    "request_shape": "anthropic",
    "wallet_id": "wal_01K7",
    "allowed_models": ["claude-3-5-haiku-latest"],
    "allowed_providers": None,
    "spend_limit": {"amount": "1.5000000000", "cycle": "daily"},
    "current_spend": "0.0123456789",
    "total_spend": "3.0000000001",
    "request_limit": {"count": 100, "cycle": "total"},
    "current_requests": 7,
    "total_requests": 7,
    "rate_limit": {"rpm": 60, "burst": None},
    "expires_at": None,
    "last_used_at": "2026-11-30T09:00:00Z",
    "created_at": "2026-11-30T08:30:00Z",
}

MODEL_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "openai"},
        {"id": "claude-sonnet-4-5", "object": "model", "created": 0, "owned_by": "anthropic"},
    ],
}

REQUEST: dict[str, Any] = {
    "request_id": "req_01K7",
    "status": "completed",
    "customer_id": "con_01K7",
    "meter_id": "prd_01K7",
    "provider": "openai",
    "provider_key_type": "managed",
    "model": "gpt-4o-mini",
    "endpoint": "POST https://api.openai.com/v1/chat/completions",
    "response_id": "chatcmpl-1",
    "model_usage": {
        "input_tokens": 900000,
        "output_tokens": 200000,
        "total_tokens": 1100000,
        "input_characters": 0,
        "output_characters": 0,
        "total_characters": 0,
        "input_seconds": 0,
        "output_seconds": 0,
        "total_seconds": 0,
        "input_cost": "0.1350000000",
        "output_cost": "0.1200000000",
        "total_cost": "0.2550000000",
    },
    "cost": "0.2550000000",
    "charge": {
        "amount": "5.4000000000",
        "rate_type": "fixed",
        "breakdown": [
            {
                "tier": {"start": 0, "rate": "5.0000000000", "type": "tokens_1m"},
                "tokens": 1000000,
                "characters": 0,
                "seconds": 0,
                "cost": "5.0000000000",
            },
            {
                "tier": {"start": 1000000, "rate": "4.0000000000", "type": "tokens_1m"},
                "tokens": 100000,
                "characters": 0,
                "seconds": 0,
                "cost": "0.4000000000",
            },
        ],
    },
    "metadata": {"user_id": "123"},
    "timestamp": "2026-11-30T08:30:01Z",
    "created_at": "2026-11-30T08:30:01Z",
}

_SUMS = {
    "total_requests": 2,
    "total_usage_tokens": 1100010,
    "total_cost": "0.2550000000",
    "total_charge": "5.4000000000",
}
USAGE: dict[str, Any] = {
    "items": [{"date": "2026-11-30", "start": "2026-11-30T00:00:00Z", "end": "2026-11-30T23:59:59Z", **_SUMS}],
    "totals": _SUMS,
}

CHECKOUT_SESSION: dict[str, Any] = {
    "checkout_session_id": "cs_01K7",
    "checkout_session_token": "eyJzZWNyZXQiOiJjc3NfdGVzdF94IiwiYmFzZSI6Imh0dHA6Ly9sYXZhLnRlc3QvIn0=",
    "checkout_mode": "subscription",
    "origin_url": "https://shop.example",
    "plan_id": "sc_01K7",
    "created_at": "2026-11-30T08:30:00Z",
}

DELETED: dict[str, Any] = {"id": "prd_01K7", "deleted": True}
SUCCESS: dict[str, Any] = {"success": True}
