"""Admin operations behind the CLI; each returns the JSON object the CLI prints."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from .accounts.connections import create_connection
from .accounts.merchants import create_merchant, create_product
from .billing import ledger
from .billing.product_config import ProductConfig, parse_tier_spec
from .context import Services, open_services
from .ids import CONNECTION, Mode, id_pattern
from .money import parse_amount, to_wire
from .settings import Settings
from .store.connections import get_connection
from .store.merchants import MerchantKey
from .store.migrate import migrate


class AdminError(Exception):
    pass


async def with_services(
    settings: Settings,
    handler: Callable[[Services, argparse.Namespace], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    svc = await open_services(settings)
    try:
        return await handler(svc, args)
    finally:
        await svc.close()


async def _merchant(svc: Services, secret_key: str) -> MerchantKey:
    found = await svc.keys.resolve(secret_key)
    if found is None:
        raise AdminError("invalid secret key")
    return found


async def migrate_cmd(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    return {"applied": await migrate(svc.db), "database": svc.db.backend}


async def merchants_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    created = await create_merchant(svc, args.name, "live" if args.live else "test")
    return {"merchant_id": created.merchant_id, "secret_key": created.secret_key, "mode": created.mode}


def product_config_from_args(args: argparse.Namespace) -> ProductConfig:
    tiers = tuple(parse_tier_spec(t) for t in args.tier) if args.tier else None
    data: dict[str, Any] = {
        "rate_type": args.rate_type,
        "token_basis": args.token_basis,
        "base_cost_payer": args.base_cost_payer,
        "service_charge_payer": args.service_charge_payer,
        "overdraft_floor": args.overdraft_floor,
        "allow_unpriced_models": args.allow_unpriced_models,
    }
    config = ProductConfig.from_dict(data)
    if tiers:
        config = config.with_tiers(tiers)
    return config


async def products_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    created = await create_product(svc, key, product_config_from_args(args), args.name)
    return {"product_id": created.product_id, "product_secret": created.product_secret}


async def connections_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    credit = parse_amount(args.credit) if args.credit else 0
    async with svc.db.transaction() as tx:
        created = await create_connection(svc, key, reference_id=args.reference_id, tx=tx)
        if credit:
            await svc.ledger.credit_wallet(
                created.wallet_id,
                key.mode,
                credit,
                source="granted_credit",
                key=f"connection-initial-credit:{created.connection_id}",
                reason="initial credit (lava connections create --credit)",
                tx=tx,
            )
    result: dict[str, Any] = {
        "connection_id": created.connection_id,
        "connection_secret": created.connection_secret,
    }
    result["balance"] = to_wire(credit)
    return result


async def wallets_credit(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    if not id_pattern(CONNECTION).match(args.connection_id):
        raise AdminError(f"{args.connection_id!r} is not a connection id")
    amount = parse_amount(args.amount)
    if amount <= 0:
        raise AdminError("amount must be positive")
    connection = await get_connection(svc.db, key.merchant_id, key.mode, args.connection_id)
    if connection is None:
        raise AdminError(f"connection {args.connection_id} not found for this key")
    if connection.deleted_at is not None:
        raise AdminError(f"connection {args.connection_id} is deleted")
    try:
        await svc.ledger.credit_wallet(
            connection.wallet_id,
            key.mode,
            amount,
            source="granted_credit",
            key=args.idempotency_key,
            reason=args.reason or "granted credit (lava wallets credit)",
        )
    except ledger.LedgerError as exc:
        raise AdminError(str(exc)) from exc
    balance = await svc.ledger.wallet_balance(connection.wallet_id)
    return {"connection_id": connection.id, "balance": to_wire(balance.available)}


async def ledger_check(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    report = await ledger.check(svc.db)
    return report.as_dict()


async def provider_keys_set(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .gateway.provider_keys import ProviderKeyStore
    from .gateway.providers import PROVIDERS

    known = {p.slug for p in PROVIDERS}
    if args.provider not in known:
        raise AdminError(f"unknown provider {args.provider!r}; known: {', '.join(sorted(known))}")
    store = ProviderKeyStore(svc.db, svc.keyring)
    modes: list[Mode] = ["test", "live"] if args.mode == "both" else [args.mode]
    for mode in modes:
        await store.set(args.provider, mode, args.key)
    return {"provider": args.provider, "modes": modes, "hint": "…" + args.key[-4:]}


async def provider_keys_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .gateway.provider_keys import ProviderKeyStore

    return {"keys": await ProviderKeyStore(svc.db, svc.keyring).list()}


async def prices_set(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .billing.pricing import PriceSource
    from .gateway.providers import price_provider_id

    provider_id = price_provider_id(args.provider)
    path = svc.settings.prices_file
    if path is None:
        raise AdminError("no prices file configured (set LAVA_PRICES_FILE or --prices-file)")
    source = PriceSource(path if path.exists() else None)
    fields = {
        "input_mtok": args.input_mtok,
        "output_mtok": args.output_mtok,
        "cache_read_mtok": args.cache_read_mtok,
        "cache_write_mtok": args.cache_write_mtok,
        "cache_write_1h_mtok": args.cache_write_1h_mtok,
    }
    source.set_override(provider_id, args.model, **{k: v for k, v in fields.items() if v is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(source.to_json())
    tmp.replace(path)
    return {"prices_file": str(path), "key": f"{provider_id}/{args.model}", **{k: v for k, v in fields.items() if v}}


async def requests_reprice(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .billing.repricing import reprice_request

    return await reprice_request(svc.billing.deps, args.request_id)


async def checkout_settings(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .clock import now_us
    from .store.checkout_state import AmountSettings, set_amount_settings

    key = await _merchant(svc, args.secret_key)
    presets = tuple(parse_amount(p.strip()) for p in args.presets.split(",") if p.strip())
    low, high = parse_amount(args.min), parse_amount(args.max)
    if not presets or len(presets) > 6:
        raise AdminError("give 1 to 6 preset amounts")
    if not 0 < low <= high:
        raise AdminError("need 0 < min <= max")
    if any(not low <= p <= high for p in presets):
        raise AdminError("every preset must lie between min and max")
    settings = AmountSettings(presets, low, high)
    async with svc.db.transaction() as tx:
        await set_amount_settings(tx, key.merchant_id, key.mode, settings, now_us())
    return {
        "mode": key.mode,
        "presets": [to_wire(p) for p in presets],
        "min": to_wire(low),
        "max": to_wire(high),
    }


async def webhooks_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .events.endpoints import render
    from .store.webhook_endpoints import list_endpoints

    key = await _merchant(svc, args.secret_key)
    records, _ = await list_endpoints(svc.db, key.merchant_id, key.mode, cursor=None, limit=100)
    return {"webhooks": [render(r) for r in records]}


async def webhooks_attempts(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .events.endpoints import render_attempt
    from .store.webhook_deliveries import list_attempts

    key = await _merchant(svc, args.secret_key)
    records, more = await list_attempts(
        svc.db,
        key.merchant_id,
        key.mode,
        endpoint_id=args.webhook_id,
        event_id=args.event_id,
        cursor=None,
        limit=args.limit,
    )
    return {"attempts": [render_attempt(r) for r in records], "has_more": more}


async def webhooks_redeliver(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .errors import ApiError
    from .store.webhook_deliveries import event_owner

    owner = await event_owner(svc.db, args.event_id)
    if owner is None:
        raise AdminError(f"event {args.event_id} not found")
    if args.secret_key:
        key = await _merchant(svc, args.secret_key)
    else:  # the operator may redeliver any event: act as its merchant
        key = MerchantKey("operator", owner[0], "", owner[1])
    try:
        return await svc.webhooks.redeliver(key, args.event_id)
    except ApiError as exc:
        raise AdminError(exc.message) from exc
