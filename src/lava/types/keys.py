"""``RestSecretKey`` (§3.10) and ``RestSpendKey`` (§3.11). Money is ``Decimal`` USD."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ._base import LavaModel, Timestamp

__all__ = [
    "AuthCredentials",
    "CreatedSecretKey",
    "CreatedSpendKey",
    "LimitCycle",
    "RateLimit",
    "RequestLimit",
    "RequestShape",
    "SecretKey",
    "SpendKey",
    "SpendKeyStatus",
    "SpendLimit",
]

LimitCycle = Literal["daily", "weekly", "monthly", "total"]
"""Counters reset at 00:00 UTC every day, on Mondays, on the 1st; ``total`` never resets."""
RequestShape = Literal["openai", "anthropic"]
SpendKeyStatus = Literal["active", "paused"]


class SecretKey(LavaModel):
    secret_key_id: str
    name: str
    secret_key_hint: str
    """The key's last 4 characters."""
    created_at: Timestamp


class CreatedSecretKey(SecretKey):
    secret_key: str
    """The full key: shown once, at creation."""


class SpendLimit(LavaModel):
    amount: Decimal
    cycle: LimitCycle


class RequestLimit(LavaModel):
    count: int
    cycle: LimitCycle


class RateLimit(LavaModel):
    rpm: int
    burst: int | None = None
    """Token-bucket capacity; ``None`` means ``rpm``."""


class SpendKey(LavaModel):
    spend_key_id: str
    key_preview: str
    """``lava_sk_`` + 8 characters + ``****``."""
    name: str
    status: SpendKeyStatus
    request_shape: RequestShape
    wallet_id: str
    allowed_models: list[str] | None = None
    """``None``: every model."""
    allowed_providers: list[str] | None = None
    """``None``: every provider."""
    spend_limit: SpendLimit | None = None
    current_spend: Decimal
    total_spend: Decimal
    request_limit: RequestLimit | None = None
    current_requests: int
    total_requests: int
    rate_limit: RateLimit | None = None
    expires_at: Timestamp | None = None
    last_used_at: Timestamp | None = None
    created_at: Timestamp


class CreatedSpendKey(SpendKey):
    key: str
    """The raw ``lava_sk_…`` key: shown once, at creation and at each rotation."""


class AuthCredentials(LavaModel):
    """``RestAuthCredentials``: what a CLI login code is exchanged for (Node SDK 11.2.0's ``RestAuthCredentials``)."""

    wallet_id: str
    secret_key_id: str
    secret_key: str
    merchant_id: str
    account_id: str
