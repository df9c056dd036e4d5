"""CSRF protection for the hosted checkout's form posts.

Two independent checks, no cookies (third-party cookies are unreliable in iframes):
1. A synchronizer token per session, derived with the keyring (HMAC) and embedded in
   every form; compared in constant time.
2. Fetch metadata: a browser that sends ``Sec-Fetch-Site`` must report a same-origin
   post, and an ``Origin`` other than ours (or ``null``) is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from ..auth.keyring import Keyring


def csrf_token(keyring: Keyring, session_id: str) -> str:
    return keyring.hash_secret(f"checkout-csrf:{session_id}")


def csrf_ok(
    keyring: Keyring, session_id: str, form: Mapping[str, str], headers: Mapping[str, str], own_origin: str
) -> bool:
    supplied = form.get("csrf_token", "")
    if not hmac.compare_digest(supplied.encode(), csrf_token(keyring, session_id).encode()):
        return False
    origin = headers.get("Origin")
    # "null": the page's Referrer-Policy is no-referrer, so Chromium sends an opaque Origin on posts;
    # Sec-Fetch-Site still tells same-origin from cross-site.
    if origin is not None and origin not in (own_origin, "null"):
        return False
    site = headers.get("Sec-Fetch-Site")
    return site is None or site in ("same-origin", "none")
