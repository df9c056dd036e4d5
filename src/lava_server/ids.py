"""Prefixed ULID identifiers and random secrets.

Ids sort by creation time (ULID), so "newest first" is "id descending". A
:class:`IdFactory` is monotonic within one process: ids minted in the same
millisecond still sort in creation order.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from typing import Literal

Mode = Literal["test", "live"]
MODES: tuple[Mode, ...] = ("test", "live")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_RE = r"[0-9A-HJKMNP-TV-Z]{26}"

# Object id prefixes (docs/design.md "Compatibility", Ids).
CONNECTION = "con"
CHECKOUT_SESSION = "cs"
REQUEST = "req"
PRODUCT = "prd"
MERCHANT = "mer"
WALLET = "wal"
TRANSFER = "trf"
KEY = "key"


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


class IdFactory:
    """Mints monotonic ULIDs. One per process, owned by the app or the CLI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def ulid(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_rand += 1
                assert self._last_rand < (1 << 80), "ULID random space exhausted within one millisecond"
            else:
                self._last_ms = ms
                self._last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
            return _encode(ms, 10) + _encode(self._last_rand, 16)

    def new(self, prefix: str, mode: Mode | None = None) -> str:
        if mode == "test":
            return f"{prefix}_test_{self.ulid()}"
        return f"{prefix}_{self.ulid()}"


def id_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}_(?:test_)?{ULID_RE}$")


def mode_of_id(object_id: str) -> Mode:
    parts = object_id.split("_", 2)
    return "test" if len(parts) == 3 and parts[1] == "test" else "live"


# Secret prefixes (docs/design.md "Compatibility", Secrets).
SECRET_KEY = "aks"
CONNECTION_SECRET = "cons"
CHECKOUT_SECRET = "css"
PRODUCT_SECRET = "ps"


def new_secret(prefix: str, mode: Mode) -> str:
    return f"{prefix}_{mode}_{secrets.token_urlsafe(32)}"


def secret_mode(secret: str, prefix: str) -> Mode | None:
    """The mode a secret claims by its prefix, or ``None`` if it is not of that kind."""
    for mode in MODES:
        if secret.startswith(f"{prefix}_{mode}_"):
            return mode
    return None


SPEND_KEY_PREFIX = "lava_sk_"  # spend keys (docs/spend-keys.md) carry no mode infix


def is_spend_key(value: str) -> bool:
    """True for anything carrying the spend-key prefix (it is then authenticated as one, or refused)."""
    return value.startswith(SPEND_KEY_PREFIX)
