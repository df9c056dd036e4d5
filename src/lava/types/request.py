"""``RestRequest``: one metered call (the ``Request`` schema in the server's ``/openapi.json``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from ._base import LavaModel, Timestamp

__all__ = ["Fee", "FeeBreakdownItem", "FeeTier", "ModelUsage", "Request", "ServiceCharge"]

_ZERO = Decimal(0)


class ModelUsage(LavaModel):
    """Units and base model cost. Money is ``Decimal``; seconds may be fractional."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_characters: int = 0
    output_characters: int = 0
    total_characters: int = 0
    input_seconds: Decimal = _ZERO
    output_seconds: Decimal = _ZERO
    total_seconds: Decimal = _ZERO
    input_cost: Decimal = _ZERO
    output_cost: Decimal = _ZERO
    total_cost: Decimal = _ZERO
    payer: str | None = None
    """``wallet`` or ``merchant`` (API 2025-04-21.v1 and later)."""
    cached_input_tokens: int | None = None
    """Part of ``input_tokens`` read from a prompt cache (when the server reports it)."""
    cache_write_tokens: int | None = None
    """Part of ``input_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """Part of ``output_tokens`` spent on reasoning."""
    estimated: bool | None = None
    """True when the provider reported no usage and the units are an estimate."""


class FeeTier(LavaModel):
    start: int
    rate: Decimal
    type: str | None = None
    """``tokens_1m``, ``characters_1m``, ``minutes`` or ``requests``."""


class FeeBreakdownItem(LavaModel):
    tier: FeeTier
    tokens: int = 0
    characters: int = 0
    seconds: Decimal = _ZERO
    cost: Decimal


class Fee(LavaModel):
    amount: Decimal
    rate_type: str | None = None
    """``fixed`` or ``percentage``."""
    token_basis: str | None = None
    """``input+output`` or ``output``."""
    breakdown: list[FeeBreakdownItem] = Field(default_factory=list)


class ServiceCharge(LavaModel):
    amount: Decimal
    payer: str | None = None


class Request(LavaModel):
    request_id: str
    status: str | None = None
    """``pending``, ``completed`` or ``error`` (API 2025-04-28.v1)."""
    connection_id: str | None = None
    product_id: str | None = None
    provider: str | None = None
    provider_key_type: str | None = None
    """``managed`` or ``unmanaged`` (BYOK)."""
    model: str | None = None
    endpoint: str | None = None
    """``"<METHOD> <full upstream URL>"``."""
    response_id: str | None = None
    model_usage: ModelUsage
    fee: Fee
    service_charge: ServiceCharge
    total_request_cost: Decimal
    total_wallet_cost: Decimal | None = None
    total_merchant_cost: Decimal | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    timestamp: Timestamp | None = None
    """Completion time reported by the provider."""
    created_at: Timestamp
