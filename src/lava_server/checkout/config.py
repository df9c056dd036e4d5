"""Checkout configuration, read once from the environment (see docs/checkout.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class CheckoutSettings:
    processor: str = "test"  # "test" | "stripe"; test-mode merchants always use "test"
    otp_sender: str = "console"  # "console" | "smtp"
    # One-time email codes.
    otp_ttl_s: int = 600
    otp_max_attempts: int = 5  # wrong guesses per code before it is burnt
    otp_resend_interval_s: int = 30  # per session
    otp_max_per_session: int = 5
    otp_max_per_email_hour: int = 10
    # SMTP sender (otp_sender = "smtp").
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "Lava checkout <no-reply@localhost>"
    # Stripe (processor = "stripe").
    stripe_secret_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. http://127.0.0.1:8420 for localstripe
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # GET /demo/checkout (``lava serve --demo`` turns it on).
    demo_page: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CheckoutSettings:
        return cls(
            processor=env.get("LAVA_PAYMENT_PROCESSOR", "test"),
            otp_sender=env.get("LAVA_OTP_SENDER", "console"),
            otp_ttl_s=int(env.get("LAVA_OTP_TTL", "600")),
            smtp_host=env.get("LAVA_SMTP_HOST", "localhost"),
            smtp_port=int(env.get("LAVA_SMTP_PORT", "25")),
            smtp_username=env.get("LAVA_SMTP_USERNAME") or None,
            smtp_password=env.get("LAVA_SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env.get("LAVA_SMTP_STARTTLS")),
            smtp_from=env.get("LAVA_SMTP_FROM", "Lava checkout <no-reply@localhost>"),
            stripe_secret_key=env.get("LAVA_STRIPE_SECRET_KEY") or None,
            stripe_publishable_key=env.get("LAVA_STRIPE_PUBLISHABLE_KEY") or None,
            stripe_webhook_secret=env.get("LAVA_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("LAVA_STRIPE_API_BASE") or None,
            stripe_js_url=env.get("LAVA_STRIPE_JS_URL", "https://js.stripe.com/v3/"),
            demo_page=_flag(env.get("LAVA_DEMO_CHECKOUT_PAGE")),
        )
