"""Typed configuration, read once from the environment and CLI flags.

Nothing below the CLI/app layer reads ``os.environ``: a :class:`Settings` object is
built here and passed down. Every variable is read with :func:`lava_server.envvars.env_value`,
so a bad value fails at start-up with one line naming the variable and what it allows
(:class:`~lava_server.envvars.ConfigError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from . import envvars as ev
from .checkout.config import CheckoutSettings
from .envvars import ConfigError, env_value
from .events.config import WebhookSettings

DEFAULT_DATA_DIR = Path(".lava")


@dataclass(frozen=True)
class Limits:
    """Every bound the server enforces. Documented in docs/limits.md."""

    max_body_bytes: int = 10 * 1024 * 1024  # forward bodies (audio uploads need room)
    max_api_body_bytes: int = 64 * 1024  # REST bodies
    max_header_bytes: int = 16 * 1024  # aiohttp's max_field_size for one header line
    upstream_connect_timeout_s: float = 10.0
    upstream_read_timeout_s: float = 300.0  # time to the response headers
    upstream_idle_timeout_s: float = 120.0  # gap between two chunks of a body or stream
    stream_max_duration_s: float = 1800.0  # total wall time of one relayed stream
    drain_timeout_s: float = 120.0  # how long we keep reading after a client disconnect
    client_write_timeout_s: float = 60.0  # a client that accepts no bytes for this long is treated as gone
    client_body_timeout_s: float = 60.0  # time to receive a whole request body
    max_concurrent_drains: int = 256
    max_upstream_body_bytes: int = 64 * 1024 * 1024  # non-streamed provider responses
    hold_sweep_interval_s: float = 30.0  # how often expired holds are released
    hold_output_ceiling_tokens: int = 8192  # assumed output when a call sets no max_tokens
    hold_output_max_tokens: int = 200_000  # cap on a client's max_tokens when sizing a hold
    max_upstream_connections: int = 1000
    max_client_connections: int = 10_000  # open client connections per worker process; above it: 503, closed
    client_idle_timeout_s: float = 15.0  # idle keep-alive, and the time to send a request line and headers
    idempotency_ttl_s: float = 24 * 3600.0  # how long an Idempotency-Key's response is kept and replayed
    idempotency_lease_s: float = 60.0  # a running first request owns its key this long before a retry may take over
    idempotency_wait_s: float = 10.0  # how long a concurrent duplicate waits for the first before a 409
    idempotency_sweep_interval_s: float = 600.0  # how often expired keys are deleted

    @property
    def hold_lifetime_s(self) -> float:
        """Longer than any call can take (every bounded wait, plus a margin): a hold older than
        this belongs to a call that can no longer finish."""
        return (
            self.client_body_timeout_s
            + self.upstream_connect_timeout_s
            + self.upstream_read_timeout_s
            + self.stream_max_duration_s
            + self.client_write_timeout_s
            + self.drain_timeout_s
            + 120
        )


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    public_url: str | None = None  # e.g. https://pay.example.com ; None → derived from the request
    master_key: str | None = None  # base64 32 bytes; None → generated in data_dir
    upstream_map: Mapping[str, str] = field(default_factory=dict)  # host → base URL
    extra_upstream_hosts: tuple[str, ...] = ()
    no_stream_usage_option_hosts: tuple[str, ...] = ()  # LAVA_NO_STREAM_USAGE_OPTION_HOSTS (gateway/injection.py)
    service_charge_rate: Decimal = Decimal("0.019")
    checkout_session_ttl_s: int = 1800
    auth_cache_ttl_s: float = 5.0
    prices_file: Path | None = None  # operator price overrides (LAVA_PRICES_FILE)
    demo_provider: bool = False  # serve api.openai.com from the built-in demo provider (lava serve --demo)
    sqlite_synchronous: str = "full"  # LAVA_SQLITE_SYNCHRONOUS: full (durable across power loss) | normal
    limits: Limits = field(default_factory=Limits)
    checkout: CheckoutSettings = field(default_factory=CheckoutSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    scheduler: bool = True  # LAVA_SCHEDULER: run the renewal loop (scheduler.py) in this process

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_upstream_map(text: str) -> dict[str, str]:
    """``"api.openai.com=http://127.0.0.1:9001,api.anthropic.com=…"`` → dict. Raises ValueError."""
    result: dict[str, str] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        host, sep, base = item.partition("=")
        host, base = host.strip().lower(), base.strip().rstrip("/")
        if not sep or not host or not base.startswith(("http://", "https://")):
            raise ValueError(f"upstream map entry must be HOST=http(s)://BASE, got {item!r}")
        result[host] = base
    return result


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'lava.db').resolve()}"


def _database_url(text: str) -> str:
    if not text.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+asyncpg://")):
        raise ValueError(text)
    return text


def _extra_host(text: str) -> str:
    host = text.lower()
    if not host or any(c in host for c in "/ @?#:") or host.startswith("."):
        raise ValueError(text)
    return host


DATABASE_URL = ev.Cast(_database_url, "sqlite:///PATH or postgresql://USER@HOST/DB")
UPSTREAM_MAP = ev.Cast(parse_upstream_map, "comma-separated HOST=http(s)://BASE_URL entries")
EXTRA_HOSTS = ev.listing(_extra_host, "comma-separated host names (no scheme, path or port)")
SERVICE_CHARGE_RATE = ev.decimal(Decimal(0), Decimal(1))
SESSION_TTL_S = ev.integer(60, 7 * 24 * 3600)
SQLITE_SYNCHRONOUS = ev.choice("full", "normal")
DEFAULT_SERVICE_CHARGE_RATE = Decimal("0.019")


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from the environment; explicit keyword overrides (CLI flags) win.

    Raises :class:`ConfigError` (a ``ValueError``) naming the first invalid variable.
    """
    env = os.environ if env is None else env
    data_dir = Path(
        str(overrides.pop("data_dir", None) or env_value(env, "LAVA_DATA_DIR", ev.path(), DEFAULT_DATA_DIR))
    )
    database_url = str(overrides.pop("database_url", None) or env_value(env, "LAVA_DATABASE_URL", DATABASE_URL, ""))
    upstream = env_value(env, "LAVA_UPSTREAM_MAP", UPSTREAM_MAP, {})
    extra_map = overrides.pop("upstream_map", None)
    if isinstance(extra_map, Mapping):
        upstream.update(extra_map)
    public_url = overrides.pop("public_url", None) or env_value(env, "LAVA_PUBLIC_URL", ev.http_url(), "")
    prices_file = env_value(env, "LAVA_PRICES_FILE", ev.path(), data_dir / "prices.json")
    settings = Settings(
        database_url=database_url or default_database_url(data_dir),
        data_dir=data_dir,
        public_url=str(public_url) or None,
        master_key=env_value(env, "LAVA_MASTER_KEY", ev.master_key(), "") or None,
        upstream_map=upstream,
        extra_upstream_hosts=env_value(env, "LAVA_EXTRA_UPSTREAM_HOSTS", EXTRA_HOSTS, ()),
        no_stream_usage_option_hosts=env_value(env, "LAVA_NO_STREAM_USAGE_OPTION_HOSTS", EXTRA_HOSTS, ()),
        service_charge_rate=env_value(
            env, "LAVA_SERVICE_CHARGE_RATE", SERVICE_CHARGE_RATE, DEFAULT_SERVICE_CHARGE_RATE
        ),
        checkout_session_ttl_s=env_value(env, "LAVA_CHECKOUT_SESSION_TTL", SESSION_TTL_S, 1800),
        checkout=CheckoutSettings.from_env(env),
        webhooks=WebhookSettings.from_env(env),
        sqlite_synchronous=env_value(env, "LAVA_SQLITE_SYNCHRONOUS", SQLITE_SYNCHRONOUS, "full"),
        prices_file=prices_file,
        scheduler=env_value(env, "LAVA_SCHEDULER", ev.flag(), True),
    )
    if overrides:
        settings = settings.with_overrides(**overrides)
    return settings


__all__ = ["ConfigError", "Limits", "Settings", "default_database_url", "from_env", "parse_upstream_map"]
