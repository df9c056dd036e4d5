"""Admin CLI for the merchant settings of the current API's gaps (docs/current-api.md):

- ``lava merchants wallet-enforcement --secret-key K --enforce on|off``: ``enforce_merchant_wallet``
  (spec lava-api-current section 4.1; the spec has no REST route for it);
- ``lava provider-keys set|list|delete --secret-key K …``: the merchant's stored provider keys
  (spec section 2.3 "Key choice"). Without ``--secret-key``, ``set`` and ``list`` keep managing the
  operator's managed keys as before.

Each prints a JSON object; refusals are one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import admin
from .admin_current import Handler, _guard, _merchant
from .context import Services
from .gateway import stored_keys
from .gateway.providers import PROVIDERS


def register(merchants: Any, provider_keys: Any, common: Any) -> None:
    """Add ``merchants wallet-enforcement`` and ``provider-keys delete``; ``common`` adds the
    database and data-dir options."""
    we = merchants.add_parser(
        "wallet-enforcement", help="refuse (402) current-generation calls the merchant wallet cannot cover"
    )
    common(we)
    we.add_argument("--secret-key", required=True, help="the merchant's secret key (sets merchant and mode)")
    we.add_argument(
        "--enforce", required=True, choices=["on", "off"], help="on: enforce; off (default): may go negative"
    )
    pkd = provider_keys.add_parser("delete", help="delete a merchant's stored provider key")
    common(pkd)
    pkd.add_argument("--secret-key", required=True, help="the merchant's secret key (sets merchant and mode)")
    pkd.add_argument("--provider", required=True, help="provider slug, e.g. openai")


def merchant_option(parser: argparse.ArgumentParser) -> None:
    """``--secret-key`` on ``provider-keys set|list``: act on that merchant's stored keys."""
    parser.add_argument(
        "--secret-key", help="store/list the key of this merchant (its mode) instead of the operator's managed key"
    )


async def wallet_enforcement(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava merchants wallet-enforcement``: set ``enforce_merchant_wallet``."""
    key = await _merchant(svc, args.secret_key)
    on = args.enforce == "on"
    await svc.db.execute(
        "UPDATE merchants SET enforce_merchant_wallet = $1 WHERE id = $2", 1 if on else 0, key.merchant_id
    )
    return {"merchant_id": key.merchant_id, "enforce_merchant_wallet": on}


def _provider(name: str) -> str:
    known = {p.slug for p in PROVIDERS}
    if name not in known:
        raise admin.AdminError(f"unknown provider {name!r}; known: {', '.join(sorted(known))}")
    return name


async def provider_keys_set(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava provider-keys set``: the merchant's stored key with ``--secret-key``, else the operator's."""
    if not getattr(args, "secret_key", None):
        return await admin.provider_keys_set(svc, args)
    key = await _merchant(svc, args.secret_key)
    provider = _provider(args.provider)
    await stored_keys.put(svc.db, svc.keyring, key.merchant_id, key.mode, provider, args.key)
    return {"merchant_id": key.merchant_id, "provider": provider, "modes": [key.mode], "hint": "…" + args.key[-4:]}


async def provider_keys_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava provider-keys list``: hints of the merchant's stored keys with ``--secret-key``."""
    if not getattr(args, "secret_key", None):
        return await admin.provider_keys_list(svc, args)
    key = await _merchant(svc, args.secret_key)
    return {
        "merchant_id": key.merchant_id,
        "keys": await stored_keys.hints(svc.db, svc.keyring, key.merchant_id, key.mode),
    }


async def provider_keys_delete(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava provider-keys delete``: remove the merchant's stored key (calls fall back to the operator's)."""
    key = await _merchant(svc, args.secret_key)
    provider = _provider(args.provider)
    return {"provider": provider, "deleted": await stored_keys.delete(svc.db, key.merchant_id, key.mode, provider)}


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("merchants", "wallet-enforcement"): _guard(wallet_enforcement),
    ("provider-keys", "set"): _guard(provider_keys_set),
    ("provider-keys", "list"): _guard(provider_keys_list),
    ("provider-keys", "delete"): _guard(provider_keys_delete),
}
