"""Typed configuration, read once from the environment and CLI flags.

Nothing below the CLI/app layer reads ``os.environ``: a :class:`Settings` object is
built here and passed down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from .checkout.config import CheckoutSettings
from .events.config import WebhookSettings

DEFAULT_DATA_DIR = Path(".lava")


@dataclass(frozen=True)
class Limits:
    """Every bound the server enforces. Documented in docs/limits.md."""

    max_body_bytes: int = 10 * 1024 * 1024  # forward bodies (audio uploads need room)
    max_api_body_bytes: int = 64 * 1024  # REST bodies
    max_header_bytes: int = 16 * 1024  # aiohttp's max_field_size for one header line
    max_metadata_pairs: int = 100
    max_metadata_chars: int = 255
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
    db_statement_timeout_s: float = 10.0
    max_client_connections: int = 10_000  # open client connections per worker process; above it: 503, closed
    client_idle_timeout_s: float = 15.0  # idle keep-alive, and the time to send a request line and headers

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
    service_charge_rate: Decimal = Decimal("0.019")
    checkout_session_ttl_s: int = 1800
    auth_cache_ttl_s: float = 5.0
    prices_file: Path | None = None  # operator price overrides (LAVA_PRICES_FILE)
    demo_provider: bool = False  # serve api.openai.com from the built-in demo provider (lava serve --demo)
    sqlite_synchronous: str = "full"  # LAVA_SQLITE_SYNCHRONOUS: full (durable across power loss) | normal
    limits: Limits = field(default_factory=Limits)
    checkout: CheckoutSettings = field(default_factory=CheckoutSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

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


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from the environment; explicit keyword overrides (CLI flags) win."""
    env = os.environ if env is None else env
    data_dir = Path(str(overrides.pop("data_dir", None) or env.get("LAVA_DATA_DIR") or DEFAULT_DATA_DIR))
    database_url = str(overrides.pop("database_url", None) or env.get("LAVA_DATABASE_URL") or "")
    upstream = parse_upstream_map(env.get("LAVA_UPSTREAM_MAP", ""))
    extra_map = overrides.pop("upstream_map", None)
    if isinstance(extra_map, Mapping):
        upstream.update(extra_map)
    extra_hosts = tuple(h.strip().lower() for h in env.get("LAVA_EXTRA_UPSTREAM_HOSTS", "").split(",") if h.strip())
    settings = Settings(
        database_url=database_url or default_database_url(data_dir),
        data_dir=data_dir,
        public_url=(str(overrides.pop("public_url", None) or env.get("LAVA_PUBLIC_URL") or "") or None),
        master_key=env.get("LAVA_MASTER_KEY") or None,
        upstream_map=upstream,
        extra_upstream_hosts=extra_hosts,
        service_charge_rate=Decimal(env.get("LAVA_SERVICE_CHARGE_RATE", "0.019")),
        checkout_session_ttl_s=int(env.get("LAVA_CHECKOUT_SESSION_TTL", "1800")),
        checkout=CheckoutSettings.from_env(env),
        webhooks=WebhookSettings.from_env(env),
        sqlite_synchronous=env.get("LAVA_SQLITE_SYNCHRONOUS", "full").strip().lower(),
        prices_file=Path(env["LAVA_PRICES_FILE"]) if env.get("LAVA_PRICES_FILE") else data_dir / "prices.json",
    )
    if overrides:
        settings = settings.with_overrides(**overrides)
    if settings.sqlite_synchronous not in ("full", "normal"):
        raise ValueError("LAVA_SQLITE_SYNCHRONOUS must be 'full' or 'normal'")
    return settings
