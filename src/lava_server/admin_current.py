"""Admin CLI commands for the current API's objects: ``lava customers|meters|secret-keys …`` and
``lava merchants profile``. Each prints the same JSON object the REST API returns for it."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from .accounts import customers, meters, secret_keys
from .api import render_current, render_plans
from .api.profiles import PROFILES
from .billing.product_config import parse_tier_spec
from .context import Services
from .errors import ApiError
from .store import connections as conn_repo
from .store import meters as meter_repo
from .store import secret_keys as key_repo
from .store import subscriptions as sub_repo
from .store.auth_epoch import bump_auth_epoch
from .store.connections import ConnectionRecord
from .store.merchants import MerchantKey

Handler = Callable[[Services, argparse.Namespace], Awaitable[dict[str, Any]]]


class CommandError(ValueError):
    """A refused command (the CLI prints it as one line on stderr)."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="sqlite:///PATH or postgresql://… (env LAVA_DATABASE_URL)")
    p.add_argument("--data-dir", help="where the embedded database and master key live (env LAVA_DATA_DIR)")
    p.add_argument("--secret-key", required=True, help="the merchant's secret key (sets merchant and mode)")


def page_limit(args: argparse.Namespace) -> int:
    """A list command's ``--limit`` clamped to 1..100, the page bounds the store accepts."""
    return max(1, min(int(args.limit), 100))


def register(sub: Any, merchants: Any) -> None:
    """Add the commands to the ``lava`` parser (``sub``) and to its ``merchants`` sub-parsers."""
    mp = merchants.add_parser("profile", help="set the response profile for clients without a version header")
    _common(mp)
    mp.add_argument("--profile", required=True, choices=PROFILES, help="compat (both generations), current or 2025")

    def actions(name: str, text: str) -> Any:
        return sub.add_parser(name, help=text).add_subparsers(
            dest="action", required=True, metavar="ACTION", title="actions"
        )

    def limit(p: argparse.ArgumentParser) -> None:
        p.add_argument("--limit", type=int, default=100, help="at most this many, newest first (1..100)")

    cust = actions("customers", "manage customers of the current API (create, list, delete)")
    cc = cust.add_parser("create", help="create a customer (idempotent by --reference-id)")
    _common(cc)
    cc.add_argument("--reference-id", help="your id for the customer (never starting with con_)")
    cc.add_argument("--name", help="full name; split at the first space into first and last name")
    cc.add_argument("--email", help="contact email")
    cc.add_argument("--phone", help="contact phone in E.164 form, e.g. +14155550123")
    cl = cust.add_parser("list", help="list customers, newest first")
    _common(cl)
    limit(cl)
    cd = cust.add_parser("delete", help="delete a customer (by con_ id or reference_id)")
    _common(cd)
    cd.add_argument("customer", help="the customer's con_ id or reference_id")

    met = actions("meters", "manage meters of the current API (create, list, delete)")
    mc = met.add_parser("create", help="create a meter")
    _common(mc)
    mc.add_argument("--name", required=True, help="the meter's name (the slug is generated from it)")
    mc.add_argument("--meter-slug", help="the slug tokens name, [a-z0-9][a-z0-9_-]{0,63}")
    mc.add_argument("--rate-type", choices=["fixed", "percentage"], default="fixed", help="fixed or percentage")
    mc.add_argument(
        "--tier-type",
        choices=["tokens_1m", "characters_1m", "minutes", "requests"],
        default="tokens_1m",
        help="the unit tiers count (default tokens_1m)",
    )
    mc.add_argument("--tier", action="append", default=[], metavar="START:RATE", help="repeatable; default 0:0")
    ml = met.add_parser("list", help="list meters, newest first")
    _common(ml)
    limit(ml)
    md = met.add_parser("delete", help="delete a meter (past requests keep their price)")
    _common(md)
    md.add_argument("meter_id", help="the meter's prd_ id")

    sk = actions("secret-keys", "manage a merchant's secret keys (create, list, delete)")
    skc = sk.add_parser("create", help="create a secret key (printed once)")
    _common(skc)
    skc.add_argument("--name", required=True, help="a name to recognise the key by")
    skl = sk.add_parser("list", help="list secret keys (hints only)")
    _common(skl)
    limit(skl)
    skd = sk.add_parser("delete", help="revoke a secret key")
    _common(skd)
    skd.add_argument("key_id", help="the key's key_ id")


async def _merchant(svc: Services, secret_key: str) -> MerchantKey:
    found = await svc.keys.resolve(secret_key)
    if found is None:
        raise CommandError("invalid secret key")
    return found


def _guard(fn: Handler) -> Handler:
    async def run(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
        try:
            return await fn(svc, args)
        except ApiError as err:
            raise CommandError(f"{err.code}: {err.message}") from err

    return run


async def merchants_profile(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava merchants profile``: the shapes header-less clients get."""
    key = await _merchant(svc, args.secret_key)
    async with svc.db.transaction() as tx:
        await tx.execute("UPDATE merchants SET default_profile = $1 WHERE id = $2", args.profile, key.merchant_id)
        await bump_auth_epoch(tx)  # resolved keys carry the profile: every replica re-reads them
    svc.forward_auth_changed()
    return {"merchant_id": key.merchant_id, "default_profile": args.profile}


async def _customer(svc: Services, rec: ConnectionRecord) -> dict[str, Any]:
    """The RestCustomer GET /v1/customers returns, with its active subscription's summary."""
    out = render_current.customer(rec)
    sub = await sub_repo.active_for(svc.db, rec.id)
    out["subscription"] = None if sub is None else render_plans.summary(sub)
    return out


async def customers_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava customers create``: RestCustomer plus ``created``."""
    key = await _merchant(svc, args.secret_key)
    body = {"reference_id": args.reference_id, "name": args.name, "email": args.email, "phone": args.phone}
    record, created = await customers.create_customer(svc, key, body)
    return {**(await _customer(svc, record)), "created": created}


async def customers_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava customers list``: up to --limit live customers."""
    key = await _merchant(svc, args.secret_key)
    records, more = await conn_repo.list_connections(
        svc.db, key.merchant_id, key.mode, reference_id=None, cursor=None, limit=page_limit(args)
    )
    return {"data": [await _customer(svc, r) for r in records], "has_more": more}


async def customers_delete(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava customers delete``: soft delete by con_ id or reference_id."""
    key = await _merchant(svc, args.secret_key)
    await customers.delete_customer(svc, key, args.customer)
    return {"success": True}


async def meters_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava meters create``: RestMeter."""
    key = await _merchant(svc, args.secret_key)
    tiers = []
    for spec in args.tier or ["0:0"]:
        tier = parse_tier_spec(spec, args.tier_type)
        tiers.append({"start": tier.start, "rate": str(tier.rate)})
    body: dict[str, Any] = {
        "name": args.name,
        "meter_slug": args.meter_slug,
        "rate_type": args.rate_type,
        "tier_type": args.tier_type,
        "tiers": tiers,
    }
    record = await meters.create_meter(svc, key, body)
    return render_current.meter(record, "current")


async def meters_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava meters list``: up to --limit live meters."""
    key = await _merchant(svc, args.secret_key)
    records, more = await meter_repo.list_meters(svc.db, key.merchant_id, key.mode, cursor=None, limit=page_limit(args))
    return {"data": [render_current.meter(r, "current") for r in records], "has_more": more}


async def meters_delete(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava meters delete``: soft delete."""
    key = await _merchant(svc, args.secret_key)
    await meters.delete_meter(svc, key, args.meter_id)
    return {"id": args.meter_id, "deleted": True}


async def secret_keys_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava secret-keys create``: RestSecretKey plus the key, printed once."""
    key = await _merchant(svc, args.secret_key)
    record, secret = await secret_keys.create_named_key(svc, key, args.name)
    return {**render_current.secret_key(record), "secret_key": secret}


async def secret_keys_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava secret-keys list``: hints only."""
    key = await _merchant(svc, args.secret_key)
    records, more = await key_repo.list_keys(svc.db, key.merchant_id, key.mode, cursor=None, limit=page_limit(args))
    return {"data": [render_current.secret_key(r) for r in records], "has_more": more}


async def secret_keys_delete(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    """``lava secret-keys delete``: revoke (not the last, not within 15 s)."""
    key = await _merchant(svc, args.secret_key)
    await secret_keys.revoke_key(svc, key, args.key_id)
    return {"id": args.key_id, "deleted": True}


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("merchants", "profile"): _guard(merchants_profile),
    ("customers", "create"): _guard(customers_create),
    ("customers", "list"): _guard(customers_list),
    ("customers", "delete"): _guard(customers_delete),
    ("meters", "create"): _guard(meters_create),
    ("meters", "list"): _guard(meters_list),
    ("meters", "delete"): _guard(meters_delete),
    ("secret-keys", "create"): _guard(secret_keys_create),
    ("secret-keys", "list"): _guard(secret_keys_list),
    ("secret-keys", "delete"): _guard(secret_keys_delete),
}
