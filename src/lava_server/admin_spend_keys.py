"""Admin CLI for spend keys: ``lava spend-keys list|create|revoke|rotate``. Each prints the JSON the
REST API returns (``create`` and ``rotate`` include the raw ``key``, shown once)."""

from __future__ import annotations

import argparse
from typing import Any

from .accounts import spend_keys
from .admin_current import Handler, _common, _guard, _merchant, page_limit
from .api.spend_keys import spend_key
from .context import Services
from .store import spend_keys as repo
from .store.spend_keys import CYCLES, REQUEST_SHAPES


def register(sub: Any) -> None:
    """Add ``spend-keys`` and its actions to the ``lava`` parser."""
    sk = sub.add_parser("spend-keys", help="spend keys: gateway keys with limits").add_subparsers(
        dest="action", required=True
    )
    create = sk.add_parser("create", help="create a spend key (the key is printed once)")
    _common(create)
    create.add_argument("--name", required=True, help="a label for the key (≤ 255 characters)")
    create.add_argument("--paused", action="store_true", help="create it paused")
    create.add_argument("--request-shape", choices=REQUEST_SHAPES, default="openai", help="the API shape it speaks")
    create.add_argument("--allowed-model", action="append", metavar="MODEL", help="repeatable; default: all")
    create.add_argument("--allowed-provider", action="append", metavar="SLUG", help="repeatable; default: all")
    create.add_argument("--spend-limit", metavar="USD", help="e.g. 1.50")
    create.add_argument("--spend-cycle", choices=CYCLES, default="daily", help="when the spend limit resets")
    create.add_argument("--request-limit", type=int, metavar="COUNT", help="calls allowed per cycle")
    create.add_argument("--request-cycle", choices=CYCLES, default="daily", help="when the request limit resets")
    create.add_argument("--rpm", type=int, help="rate limit, requests per minute")
    create.add_argument("--burst", type=int, help="token-bucket capacity (default: --rpm)")
    create.add_argument("--expires-at", metavar="ISO8601", help="e.g. 2026-12-31T00:00:00Z")
    listing = sk.add_parser("list", help="list live spend keys, newest first (previews only)")
    _common(listing)
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1..100)")
    for action, text in (("revoke", "revoke a spend key (it fails at once)"), ("rotate", "issue a new secret")):
        p = sk.add_parser(action, help=text)
        _common(p)
        p.add_argument("spend_key_id", help="the sk_… id")


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": args.name,
        "status": "paused" if args.paused else "active",
        "request_shape": args.request_shape,
        "allowed_models": args.allowed_model,
        "allowed_providers": args.allowed_provider,
        "expires_at": args.expires_at,
    }
    if args.spend_limit is not None:
        body["spend_limit"] = {"amount": args.spend_limit, "cycle": args.spend_cycle}
    if args.request_limit is not None:
        body["request_limit"] = {"count": args.request_limit, "cycle": args.request_cycle}
    if args.rpm is not None:
        body["rate_limit"] = {"rpm": args.rpm, "burst": args.burst}
    return body


async def create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava spend-keys create``: the RestSpendKey plus the raw ``key``."""
    key = await _merchant(svc, args.secret_key)
    record, raw = await spend_keys.create_key(svc, key, _body(args))
    return {**spend_key(record), "key": raw}


async def list_keys(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava spend-keys list``: ``{data, has_more}``, newest first."""
    key = await _merchant(svc, args.secret_key)
    records, more = await repo.list_keys(svc.db, key.merchant_id, key.mode, cursor=None, limit=page_limit(args))
    return {"data": [spend_key(r) for r in records], "has_more": more}


async def revoke(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava spend-keys revoke ID``."""
    key = await _merchant(svc, args.secret_key)
    await spend_keys.revoke_key(svc, key, args.spend_key_id)
    return {"spend_key_id": args.spend_key_id, "success": True}


async def rotate(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava spend-keys rotate ID``: the key with its new raw ``key``."""
    key = await _merchant(svc, args.secret_key)
    record, raw = await spend_keys.rotate_key(svc, key, args.spend_key_id)
    return {**spend_key(record), "key": raw}


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("spend-keys", "create"): _guard(create),
    ("spend-keys", "list"): _guard(list_keys),
    ("spend-keys", "revoke"): _guard(revoke),
    ("spend-keys", "rotate"): _guard(rotate),
}
