"""``RestWebhook`` (docs/webhooks.md)."""

from __future__ import annotations

from ._base import LavaModel, Timestamp

__all__ = ["CreatedWebhook", "Webhook"]


class Webhook(LavaModel):
    webhook_id: str
    name: str
    url: str
    created_at: Timestamp


class CreatedWebhook(Webhook):
    webhook_secret: str
    """``whsec_…``: verifies deliveries (``lava.webhooks.construct_event``); shown once, at creation."""
