"""Checkout configuration, read once from the environment (see docs/checkout.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import envvars as ev
from ..envvars import env_value

PROCESSORS = ev.choice("test", "stripe")
OTP_SENDERS = ev.choice("console", "smtp")
OTP_TTL_S = ev.integer(60, 24 * 3600)
PORT = ev.integer(1, 65535)


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
        """Read every ``LAVA_*`` checkout variable; raises ``envvars.ConfigError`` naming a bad one."""
        d = cls()
        secret = ev.text(secret=True)
        return cls(
            processor=env_value(env, "LAVA_PAYMENT_PROCESSOR", PROCESSORS, d.processor),
            otp_sender=env_value(env, "LAVA_OTP_SENDER", OTP_SENDERS, d.otp_sender),
            otp_ttl_s=env_value(env, "LAVA_OTP_TTL", OTP_TTL_S, d.otp_ttl_s),
            smtp_host=env_value(env, "LAVA_SMTP_HOST", ev.text(253), d.smtp_host),
            smtp_port=env_value(env, "LAVA_SMTP_PORT", PORT, d.smtp_port),
            smtp_username=env_value(env, "LAVA_SMTP_USERNAME", ev.text(), "") or None,
            smtp_password=env_value(env, "LAVA_SMTP_PASSWORD", secret, "") or None,
            smtp_starttls=env_value(env, "LAVA_SMTP_STARTTLS", ev.flag(), d.smtp_starttls),
            smtp_from=env_value(env, "LAVA_SMTP_FROM", ev.text(998), d.smtp_from),
            stripe_secret_key=env_value(env, "LAVA_STRIPE_SECRET_KEY", secret, "") or None,
            stripe_publishable_key=env_value(env, "LAVA_STRIPE_PUBLISHABLE_KEY", ev.text(), "") or None,
            stripe_webhook_secret=env_value(env, "LAVA_STRIPE_WEBHOOK_SECRET", secret, "") or None,
            stripe_api_base=env_value(env, "LAVA_STRIPE_API_BASE", ev.http_url(), "") or None,
            stripe_js_url=env_value(env, "LAVA_STRIPE_JS_URL", ev.http_url(), d.stripe_js_url),
            demo_page=env_value(env, "LAVA_DEMO_CHECKOUT_PAGE", ev.flag(), d.demo_page),
        )
