"""Client configuration, resolved once from arguments and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from .errors import LavaError

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "LIVE_BASE_URL",
    "SANDBOX_BASE_URL",
    "ClientConfig",
    "Generation",
    "normalize_base_url",
    "resolve_config",
]

API_VERSIONS: Final = ("2025-03-27.v1", "2025-04-21.v1", "2025-04-28.v1")
DEFAULT_API_VERSION: Final = "2025-04-28.v1"
"""The newest legacy version. Clients send no version unless given one (as Node SDK 8.1.0+ does)."""
LIVE_BASE_URL: Final = "https://api.lavapayments.com/v1/"
SANDBOX_BASE_URL: Final = "https://sandbox-api.lavapayments.com/v1/"
TEST_KEY_PREFIX: Final = "aks_test_"

Generation = Literal["current", "2025"]
"""``2025``: an explicit legacy ``api_version`` is sent, and the server answers in 2025 shapes.
``current``: no version header (Node SDK 8.1.0+), and the server answers in its default profile
(``compat`` = both vocabularies, or ``current``)."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """What a client needs to talk to Lava. ``base_url`` always ends with ``/``."""

    secret_key: str
    base_url: str
    api_version: str | None
    """The ``X-Lava-API-Version`` header sent on REST calls; ``None`` sends none."""

    @property
    def generation(self) -> Generation:
        return "current" if self.api_version is None else "2025"


def normalize_base_url(base_url: str) -> str:
    """Return ``base_url`` with exactly one trailing ``/`` (it is the ``/v1/`` root)."""
    url = base_url.strip()
    if not url:
        raise LavaError("base_url must not be empty")
    return url.rstrip("/") + "/"


def resolve_config(
    secret_key: str | None,
    base_url: str | None,
    api_version: str | None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve the secret key, base URL and API version (``None``: send no version header).

    ``secret_key`` falls back to ``LAVA_SECRET_KEY``. ``base_url`` falls back to
    ``LAVA_BASE_URL``, then to the sandbox host for ``aks_test_`` keys and the live
    host otherwise (the Node SDK's rule).
    """
    env = os.environ if environ is None else environ
    key = secret_key if secret_key is not None else env.get("LAVA_SECRET_KEY") or None
    if not key:
        raise LavaError(
            "No Lava secret key: pass Lava(secret_key='aks_...') or set the LAVA_SECRET_KEY environment variable"
        )
    if api_version is not None and api_version not in API_VERSIONS:
        raise LavaError(f"Unsupported api_version {api_version!r}; expected one of {', '.join(API_VERSIONS)}")
    url = base_url if base_url is not None else env.get("LAVA_BASE_URL") or None
    if url is None:
        url = SANDBOX_BASE_URL if key.startswith(TEST_KEY_PREFIX) else LIVE_BASE_URL
    return ClientConfig(secret_key=key, base_url=normalize_base_url(url), api_version=api_version)
