"""Webhook settings, read once from the environment (see docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..money import UNITS_PER_USD, parse_amount

DEFAULT_SCHEDULE_S = (60.0, 300.0, 1800.0, 7200.0, 21600.0, 43200.0)


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= minimum or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a finite number ≥ {minimum}, got {raw!r}")
    return value


def _schedule(env: Mapping[str, str]) -> tuple[float, ...]:
    raw = env.get("LAVA_WEBHOOK_RETRY_SCHEDULE")
    if raw is None or not raw.strip():
        return DEFAULT_SCHEDULE_S
    values = []
    for part in raw.split(","):
        values.append(_seconds({"LAVA_WEBHOOK_RETRY_SCHEDULE": part}, "LAVA_WEBHOOK_RETRY_SCHEDULE", 0.0))
    return tuple(values)


def _amount(raw: str) -> int:
    try:
        return parse_amount(raw)
    except ValueError:
        raise ValueError(f"LAVA_WEBHOOK_CREDITS_LOW must be a USD amount ≥ 0, got {raw!r}") from None


@dataclass(frozen=True)
class WebhookSettings:
    """How events are delivered.

    ``retry_schedule_s``: waits after each failed attempt; the first attempt is immediate, so an
    event gets ``len(retry_schedule_s) + 1`` attempts before it is marked failed.
    ``allowed_hosts``: exempt from the public-address rule (http allowed too), for operators'
    internal receivers and tests. ``credits_low_units``: the ``customer.credits.low`` threshold.
    """

    allowed_hosts: tuple[str, ...] = ()
    retry_schedule_s: tuple[float, ...] = DEFAULT_SCHEDULE_S
    timeout_s: float = 10.0  # a whole attempt: connect, send, status and the bounded body
    max_response_bytes: int = 64 * 1024  # read at most this much of a receiver's answer
    excerpt_chars: int = 500  # kept per attempt
    poll_interval_s: float = 1.0
    lease_s: float = 60.0  # longer than any attempt: one worker per delivery at a time
    batch_size: int = 32
    disable_after_s: float = 3 * 86400.0  # an endpoint failing this long is disabled
    coalesce_s: float = 30.0  # usage-driven balance events: one per customer per window
    credits_low_units: int = UNITS_PER_USD
    retention_s: float = 30 * 86400.0  # finished events (and their attempts) are kept this long
    worker: bool = True  # run the delivery worker inside `lava serve`

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule_s) + 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        hosts = tuple(h.strip().lower() for h in env.get("LAVA_WEBHOOK_ALLOWED_HOSTS", "").split(",") if h.strip())
        low = env.get("LAVA_WEBHOOK_CREDITS_LOW")
        worker = env.get("LAVA_WEBHOOK_WORKER", "1").strip().lower()
        if worker not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"LAVA_WEBHOOK_WORKER must be 1 or 0, got {worker!r}")
        built = cls(
            allowed_hosts=hosts,
            retry_schedule_s=_schedule(env),
            timeout_s=_seconds(env, "LAVA_WEBHOOK_TIMEOUT", 10.0, minimum=0.1),
            poll_interval_s=_seconds(env, "LAVA_WEBHOOK_POLL_INTERVAL", 1.0, minimum=0.01),
            lease_s=_seconds(env, "LAVA_WEBHOOK_LEASE", 60.0, minimum=1.0),
            disable_after_s=_seconds(env, "LAVA_WEBHOOK_DISABLE_AFTER", 3 * 86400.0, minimum=1.0),
            coalesce_s=_seconds(env, "LAVA_WEBHOOK_COALESCE", 30.0),
            retention_s=_seconds(env, "LAVA_WEBHOOK_RETENTION", 30 * 86400.0, minimum=3600.0),
            credits_low_units=_amount(low) if low else UNITS_PER_USD,
            worker=worker in ("1", "true", "yes", "on"),
        )
        if built.lease_s <= built.timeout_s:
            raise ValueError("LAVA_WEBHOOK_LEASE must be longer than LAVA_WEBHOOK_TIMEOUT (one worker per attempt)")
        return built
