"""Admin CLI for plans (issue 10): ``lava plans …``, ``lava subscriptions …``, ``lava clock …``.
Each prints the JSON object the REST API returns for it (profile ``current``)."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from .accounts import customers, plans
from .admin_current import CommandError, Handler, _common, _guard, _merchant
from .api import render_plans
from .api.subscriptions import view
from .billing import purchases, renewals, test_clocks
from .billing.offsession import charger_for
from .checkout.offsession import processor_chargers
from .checkout.processors import ProcessorRegistry
from .clock import from_datetime, now_us, parse_iso
from .context import Services
from .store import plans as plan_repo
from .store import subscriptions as sub_repo

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def register(sub: Any) -> None:
    """Add ``plans``, ``subscriptions`` and ``clock`` to the ``lava`` parser."""
    pl = sub.add_parser("plans", help="plans and their credit bundles").add_subparsers(dest="action", required=True)
    pc = pl.add_parser("create", help="create a plan")
    _common(pc)
    pc.add_argument("--name", required=True, help="the plan's name")
    pc.add_argument("--period-amount", required=True, help="USD per period, e.g. 20")
    pc.add_argument("--interval", choices=["day", "week", "month", "year"], default="month", help="billing interval")
    pc.add_argument("--included-credit", help="default: the period amount")
    pc.add_argument("--rollover", choices=["full", "none"], default="none", help="unused cycle credits at renewal")
    pc.add_argument("--bundle-rollover", choices=["full", "none"], default="full", help="bundle credits at renewal")
    pc.add_argument("--meter", action="append", default=[], help="a linked meter id or slug (repeatable)")
    pc.add_argument("--bundle", action="append", default=[], metavar="NAME:COST:CREDIT", help="repeatable")
    pc.add_argument("--auto-top-up-index", type=int, help="index into --bundle of the default auto top-up")
    pls = pl.add_parser("list", help="list plans, newest first (the default free plan included)")
    _common(pls)
    pd = pl.add_parser("delete", help="delete a plan (not the default, not with active subscriptions)")
    _common(pd)
    pd.add_argument("plan_id", help="the plan_ id")

    sb = sub.add_parser(
        "subscriptions", help="subscriptions: list, subscribe, bundles, cancel, due work"
    ).add_subparsers(dest="action", required=True)
    sl = sb.add_parser("list", help="list subscriptions")
    _common(sl)
    sl.add_argument("--status", choices=["active", "cancelled", "all"], default="active", help="which subscriptions")
    sl.add_argument("--customer", help="only this customer (con_ id or reference_id)")
    ss = sb.add_parser("subscribe", help="put a customer on a plan (paid plans charge the saved card)")
    _common(ss)
    ss.add_argument("--customer", required=True, help="con_ id or reference_id")
    ss.add_argument("--plan", required=True, help="the plan_ id")
    ss.add_argument("--payment-method", help="test mode: pm_card_visa succeeds, pm_card_chargeDeclined declines")
    sbb = sb.add_parser("buy-bundle", help="sell a bundle of the customer's plan")
    _common(sbb)
    sbb.add_argument("--customer", required=True, help="con_ id or reference_id")
    sbb.add_argument("--bundle", required=True, help="the cb_ id of a bundle of the customer's plan")
    sbb.add_argument("--payment-method", help="default: the subscription's saved method")
    sc = sb.add_parser("cancel", help="cancel at the cycle end")
    _common(sc)
    sc.add_argument("subscription_id", help="the sub_ id")
    spm = sb.add_parser("set-payment-method", help="the card on file changed (renewals and top-ups use it)")
    _common(spm)
    spm.add_argument("subscription_id", help="the sub_ id")
    spm.add_argument("--payment-method", required=True, help="the new saved method, e.g. pm_card_visa")
    sr = sb.add_parser("run-due", help="run due renewals and top-ups now (what the scheduler does)")
    _common(sr)

    ck = sub.add_parser("clock", help="test clocks (test mode)").add_subparsers(dest="action", required=True)
    kc = ck.add_parser("create", help="create a test clock")
    _common(kc)
    kc.add_argument("--frozen-time", help="ISO 8601 with offset; default now")
    kc.add_argument("--name", help="a label for the clock")
    ka = ck.add_parser("attach", help="attach a customer to a clock")
    _common(ka)
    ka.add_argument("clock_id", help="the clock_ id")
    ka.add_argument("--customer", required=True, help="con_ id or reference_id")
    kv = ck.add_parser("advance", help="advance a clock and run everything due for its customers")
    _common(kv)
    kv.add_argument("clock_id", help="the clock_ id")
    group = kv.add_mutually_exclusive_group(required=True)
    group.add_argument("--to", help="ISO 8601 with offset")
    group.add_argument("--by", help="a duration: 30d, 12h, 2w, 90m, 45s")


def _bundle_spec(spec: str) -> dict[str, str]:
    head, sep, credit = spec.rpartition(":")
    name, sep2, cost = head.rpartition(":")
    if not (sep and sep2 and name):
        raise CommandError(f"--bundle wants NAME:COST:CREDIT, got {spec!r}")
    return {"name": name, "cost": cost, "credit_amount": credit}


def _duration_us(text: str) -> int:
    unit = DURATION_UNITS.get(text[-1:])
    if unit is None or not text[:-1].isdigit():
        raise CommandError(f"--by wants a number and a unit (s, m, h, d, w), got {text!r}")
    return int(text[:-1]) * unit * 1_000_000


def _iso(text: str) -> int:
    try:
        return from_datetime(parse_iso(text))
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


async def plans_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    body: dict[str, Any] = {
        "name": args.name,
        "period_amount": args.period_amount,
        "billing_interval": args.interval,
        "included_credit": args.included_credit,
        "rollover_type": args.rollover,
        "bundle_rollover_type": args.bundle_rollover,
        "meter_ids": args.meter,
        "credit_bundles": [_bundle_spec(b) for b in args.bundle],
        "default_auto_top_up_bundle_index": args.auto_top_up_index,
    }
    plan = await plans.create_plan(svc, key, body)
    return render_plans.plan(plan, {}, "current")


async def plans_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    async with svc.db.transaction() as tx:
        await plans.ensure_default_plan(svc, tx, key.merchant_id, key.mode)
    records, more = await plan_repo.list_plans(svc.db, key.merchant_id, key.mode, cursor=None, limit=100)
    return {"data": [render_plans.plan(r, {}, "current") for r in records], "has_more": more}


async def plans_delete(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    await plans.delete_plan(svc, key, args.plan_id)
    return {"id": args.plan_id, "deleted": True}


async def subscriptions_list(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    connection_id = None
    if args.customer:
        connection_id = (await customers.live_customer(svc, key, args.customer)).id
    records, more = await sub_repo.list_for_merchant(
        svc.db, key.merchant_id, key.mode, status=args.status, connection_id=connection_id, cursor=None, limit=100
    )
    return {"data": [await view(svc.db, r, "current", with_customer=True) for r in records], "has_more": more}


async def subscriptions_subscribe(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    customer = await customers.live_customer(svc, key, args.customer)
    plan = await plans.live_plan(svc, key, args.plan)
    sub = await purchases.buy_plan(
        svc,
        svc.db,
        charger_for,
        connection_id=customer.id,
        wallet_id=customer.wallet_id,
        plan=plan,
        payment_method=args.payment_method,
        key=f"cli:{uuid.uuid4()}",
    )
    return {"subscription": await view(svc.db, sub, "current")}


async def subscriptions_buy_bundle(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    customer = await customers.live_customer(svc, key, args.customer)
    sub = await purchases.buy_bundle(
        svc,
        svc.db,
        charger_for,
        connection_id=customer.id,
        bundle_id=args.bundle,
        payment_method=args.payment_method,
        key=f"cli:{uuid.uuid4()}",
    )
    return {"subscription": await view(svc.db, sub, "current")}


async def subscriptions_cancel(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .billing import ledger
    from .billing import subscriptions as subs
    from .errors import ApiError

    key = await _merchant(svc, args.secret_key)
    sub = await sub_repo.get_for_merchant(svc.db, key.merchant_id, key.mode, args.subscription_id)
    if sub is None:
        raise ApiError(404, "not_found", "subscription not found")
    async with svc.db.transaction() as tx:
        await ledger.lock_balance(tx, ledger.wallet_account(sub.wallet_id))
        fresh = await sub_repo.get(tx, sub.id)
        assert fresh is not None
        await subs.cancel(svc, tx, fresh)
    return {"success": True}


async def subscriptions_set_payment_method(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    from .errors import ApiError

    key = await _merchant(svc, args.secret_key)
    sub = await sub_repo.get_for_merchant(svc.db, key.merchant_id, key.mode, args.subscription_id)
    if sub is None:
        raise ApiError(404, "not_found", "subscription not found")
    await sub_repo.update(svc.db, sub.id, {"payment_method": args.payment_method})
    return {"success": True}


async def subscriptions_run_due(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    await _merchant(svc, args.secret_key)  # an operator command: any valid key, all merchants
    registry = ProcessorRegistry(svc.settings.checkout, svc.ids)
    try:  # the same chargers as the scheduler: Stripe-saved cards through the configured processor
        report = await renewals.run_due(svc, processor_chargers(svc.db, registry), svc.db, now=now_us(), clock_id=None)
    finally:
        await registry.close()
    return report.as_dict()


async def clock_create(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    frozen = now_us() if args.frozen_time is None else _iso(args.frozen_time)
    clock = await test_clocks.create(svc.db, svc.ids, key, frozen_time=frozen, name=args.name, at=now_us())
    return render_plans.test_clock(clock)


async def clock_attach(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    customer = await customers.live_customer(svc, key, args.customer)
    await test_clocks.attach(svc.db, key, args.clock_id, customer.id)
    return {"success": True}


async def clock_advance(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    key = await _merchant(svc, args.secret_key)
    clock = await test_clocks.get(svc.db, key, args.clock_id)
    to = _iso(args.to) if args.to else int(clock["frozen_time"]) + _duration_us(args.by)
    after, report = await test_clocks.advance(svc.db, svc, charger_for, key, args.clock_id, to)
    return {**render_plans.test_clock(after), "ran": report.as_dict()}


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("plans", "create"): _guard(plans_create),
    ("plans", "list"): _guard(plans_list),
    ("plans", "delete"): _guard(plans_delete),
    ("subscriptions", "list"): _guard(subscriptions_list),
    ("subscriptions", "subscribe"): _guard(subscriptions_subscribe),
    ("subscriptions", "buy-bundle"): _guard(subscriptions_buy_bundle),
    ("subscriptions", "cancel"): _guard(subscriptions_cancel),
    ("subscriptions", "set-payment-method"): _guard(subscriptions_set_payment_method),
    ("subscriptions", "run-due"): _guard(subscriptions_run_due),
    ("clock", "create"): _guard(clock_create),
    ("clock", "attach"): _guard(clock_attach),
    ("clock", "advance"): _guard(clock_advance),
}
