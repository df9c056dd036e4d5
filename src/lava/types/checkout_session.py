"""``RestCheckoutSession`` (the ``CheckoutSession`` schema in the server's ``/openapi.json``)."""

from __future__ import annotations

from ._base import LavaModel, Timestamp

__all__ = ["CheckoutSession"]


class CheckoutSession(LavaModel):
    checkout_session_id: str
    checkout_session_token: str
    """base64 of ``{"secret": "css_...", "base": "https://.../"}``; hand it to the checkout hook."""
    checkout_mode: str
    """``onboarding`` or ``topup`` (later API versions add more modes)."""
    origin_url: str
    connection_id: str | None = None
    """Set once the session completes (for ``topup``: the connection given)."""
    reference_id: str | None = None
    created_at: Timestamp
    completed_at: Timestamp | None = None
    expires_at: Timestamp | None = None
