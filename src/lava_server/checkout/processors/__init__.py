"""Pluggable payment processors: ``test`` (built in) and ``stripe``."""

from __future__ import annotations

from ...ids import IdFactory, Mode
from ..config import CheckoutSettings
from .base import PaymentProcessor, ProcessorUnavailable
from .test_processor import TestProcessor

__all__ = ["ProcessorRegistry"]


class ProcessorRegistry:
    """Test-mode sessions always use ``test``; live-mode sessions use the configured processor."""

    def __init__(self, settings: CheckoutSettings, ids: IdFactory) -> None:
        self._settings = settings
        self.test = TestProcessor(ids)
        self.live: PaymentProcessor | None = None
        if settings.processor == "stripe":
            from .stripe_processor import StripeProcessor

            self.live = StripeProcessor(settings)
        elif settings.processor != "test":
            raise ProcessorUnavailable(f"unknown LAVA_PAYMENT_PROCESSOR {settings.processor!r} (test | stripe)")

    def for_mode(self, mode: Mode) -> PaymentProcessor | None:
        """None: live mode without a real processor, so live payments are refused."""
        return self.test if mode == "test" else self.live

    def by_name(self, name: str) -> PaymentProcessor | None:
        if name == "test":
            return self.test
        if self.live is not None and self.live.name == name:
            return self.live
        return None

    async def close(self) -> None:
        if self.live is not None:
            await self.live.close()
