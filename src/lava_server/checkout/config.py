"""Checkout configuration, read once from the environment (see docs/checkout.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckoutSettings:
    processor: str = "test"  # "test" | "stripe"; test-mode merchants always use "test"
    otp_sender: str = "console"  # "console" | "smtp"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CheckoutSettings:
        return cls(
            processor=env.get("LAVA_PAYMENT_PROCESSOR", "test"),
            otp_sender=env.get("LAVA_OTP_SENDER", "console"),
        )
