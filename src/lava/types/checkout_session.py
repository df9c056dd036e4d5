"""``RestCheckoutSession`` (both API generations)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from ._base import LavaModel, Timestamp

__all__ = ["CheckoutMode", "CheckoutSession"]

CheckoutMode = Literal["onboarding", "topup", "subscription", "credit_bundle"]
"""``subscription``/``credit_bundle``: the current API; ``onboarding``/``topup``: the 2025 API."""


class CheckoutSession(LavaModel):
    checkout_session_id: str
    checkout_session_token: str
    """base64 of ``{"secret": "css_...", "base": "https://.../"}``; hand it to the checkout hook."""
    checkout_mode: CheckoutMode
    origin_url: str
    customer_id: str | None = None
    """Set once known (= ``connection_id``; for ``topup``/``credit_bundle``: the customer given)."""
    connection_id: str | None = None
    plan_id: str | None = None
    """In ``subscription`` mode: the plan sold."""
    credit_bundle_id: str | None = None
    """In ``credit_bundle`` mode: the bundle sold."""
    reference_id: str | None = None
    created_at: Timestamp
    completed_at: Timestamp | None = None
    expires_at: Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _customer_is_connection(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("customer_id") is None and value.get("connection_id") is not None:
                return {**value, "customer_id": value["connection_id"]}
            if value.get("connection_id") is None and value.get("customer_id") is not None:
                return {**value, "connection_id": value["customer_id"]}
        return value
