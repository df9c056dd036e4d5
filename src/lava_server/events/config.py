"""Webhook settings, read once from the environment (see docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import envvars as ev
from ..envvars import ConfigError, env_value
from ..money import UNITS_PER_USD, parse_amount

DEFAULT_SCHEDULE_S = (60.0, 300.0, 1800.0, 7200.0, 21600.0, 43200.0)
SCHEDULE = ev.listing(ev.seconds(0.0).convert, "comma-separated numbers of seconds ≥ 0")
HOSTS = ev.listing(str.lower, "comma-separated host names")
USD_AMOUNT = ev.Cast(parse_amount, "a USD amount ≥ 0 with at most 10 decimals")


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
        """Read every ``LAVA_WEBHOOK_*`` variable; raises ``envvars.ConfigError`` naming a bad one."""
        d = cls()
        built = cls(
            allowed_hosts=env_value(env, "LAVA_WEBHOOK_ALLOWED_HOSTS", HOSTS, d.allowed_hosts),
            retry_schedule_s=env_value(env, "LAVA_WEBHOOK_RETRY_SCHEDULE", SCHEDULE, d.retry_schedule_s),
            timeout_s=env_value(env, "LAVA_WEBHOOK_TIMEOUT", ev.seconds(0.1), d.timeout_s),
            poll_interval_s=env_value(env, "LAVA_WEBHOOK_POLL_INTERVAL", ev.seconds(0.01), d.poll_interval_s),
            lease_s=env_value(env, "LAVA_WEBHOOK_LEASE", ev.seconds(1.0), d.lease_s),
            disable_after_s=env_value(env, "LAVA_WEBHOOK_DISABLE_AFTER", ev.seconds(1.0), d.disable_after_s),
            coalesce_s=env_value(env, "LAVA_WEBHOOK_COALESCE", ev.seconds(0.0), d.coalesce_s),
            retention_s=env_value(env, "LAVA_WEBHOOK_RETENTION", ev.seconds(3600.0), d.retention_s),
            credits_low_units=env_value(env, "LAVA_WEBHOOK_CREDITS_LOW", USD_AMOUNT, d.credits_low_units),
            worker=env_value(env, "LAVA_WEBHOOK_WORKER", ev.flag(), d.worker),
        )
        if built.lease_s <= built.timeout_s:
            raise ConfigError("LAVA_WEBHOOK_LEASE must be longer than LAVA_WEBHOOK_TIMEOUT (one worker per attempt)")
        return built
