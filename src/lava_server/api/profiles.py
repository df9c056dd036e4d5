"""Which response shapes a request gets (docs/current-api.md "Profiles").

* A known ``X-Lava-API-Version`` header: profile ``2025`` (every field SDKs ≤ 8.1.0 type).
* No header: the merchant's ``default_profile``, ``compat`` unless changed: the union of both
  generations, which serves 8.1.0 (no header, 8.x shapes) and 11.2.0 at once.
* ``current``: exactly the fields the 9.0–11.2.0 types declare.

An unknown header value never reaches here: the middleware answers 400 ``invalid_api_version``.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from ..store.merchants import MerchantKey
from .middleware import API_VERSIONS

Profile = Literal["2025", "current", "compat"]
PROFILES: tuple[Profile, ...] = ("2025", "current", "compat")


def profile_of(request: web.Request, key: MerchantKey) -> Profile:
    """The profile for this request and merchant."""
    if request.headers.get("X-Lava-API-Version") in API_VERSIONS:
        return "2025"
    default = key.default_profile
    return default if default in PROFILES else "compat"  # type: ignore[return-value]


def legacy_fields(profile: Profile) -> bool:
    """Whether the 2025 / 8.x fields are emitted."""
    return profile != "current"


def current_fields(profile: Profile) -> bool:
    """Whether the current-generation fields are emitted."""
    return profile != "2025"
