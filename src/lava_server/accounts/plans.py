"""Plans and their credit bundles (docs/plans.md): validation, create, update, delete,
and each merchant's default free plan.

Limits: ``period_amount`` 0..10000 USD; ``included_credit`` ≤ ``period_amount`` on paid plans and
≤ 10000 on free ones (defaults to ``period_amount``); bundle ``cost`` and ``credit_amount`` > 0.
``period_amount`` and ``billing_interval`` are immutable (400 ``immutable_field``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..clock import now_us
from ..context import Services
from ..errors import ApiError, invalid_request
from ..ids import Mode
from ..money import UNITS_PER_USD, parse_amount
from ..store import Executor
from ..store import meters as meter_repo
from ..store import plans as repo
from ..store.merchants import MerchantKey
from ..store.plans import INTERVALS, ROLLOVERS, BundleRecord, PlanRecord

PLAN = "plan"
BUNDLE = "cb"
MAX_AMOUNT_UNITS = 10_000 * UNITS_PER_USD
MAX_NAME = 255
MAX_BUNDLES = 20
MAX_METERS = 100
IMMUTABLE = ("period_amount", "billing_interval")


def money_in(value: Any, name: str, *, positive: bool = False, maximum: int | None = None) -> int:
    """A wire amount (decimal string or JSON number, ≥ 0, ≤ 10 fractional digits) in units; 400 otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_request(f"{name} must be a decimal string or a number")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        units = parse_amount(text)
    except ValueError as exc:
        raise invalid_request(f"{name}: {exc}") from None
    if positive and units <= 0:
        raise invalid_request(f"{name} must be greater than 0")
    if maximum is not None and units > maximum:
        raise invalid_request(f"{name} must be at most {maximum // UNITS_PER_USD}")
    return units


def _name(value: Any, what: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise invalid_request(f"{what} must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise invalid_request(f"{name} must be one of {', '.join(allowed)}")
    return value


def _included(value: Any, period_amount: int) -> int:
    limit = period_amount if period_amount > 0 else MAX_AMOUNT_UNITS
    units = money_in(value, "included_credit", maximum=MAX_AMOUNT_UNITS)
    if units > limit:
        raise invalid_request("included_credit must not exceed period_amount on a paid plan")
    return units


async def _meter_ids(tx: Executor, key: MerchantKey, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_METERS or not all(isinstance(m, str) for m in raw):
        raise invalid_request(f"meter_ids must be a list of at most {MAX_METERS} meter ids")
    out: list[str] = []
    for ref in raw:
        meter = await meter_repo.find_meter(tx, key.merchant_id, key.mode, ref)
        if meter is None:
            raise ApiError(404, "not_found", f"meter {ref!r} not found")
        if meter.id not in out:
            out.append(meter.id)
    return tuple(out)


def _bundle_fields(raw: Any) -> tuple[str, int, int]:
    if not isinstance(raw, dict):
        raise invalid_request("each credit bundle must be an object {name, cost, credit_amount}")
    return (
        _name(raw.get("name"), "credit bundle name"),
        money_in(raw.get("cost"), "cost", positive=True, maximum=MAX_AMOUNT_UNITS),
        money_in(raw.get("credit_amount"), "credit_amount", positive=True, maximum=MAX_AMOUNT_UNITS),
    )


async def ensure_default_plan(svc: Services, tx: Executor, merchant_id: str, mode: Mode) -> PlanRecord:
    """The merchant's default free plan (docs/plans.md), created on first use."""
    return await repo.ensure_default_plan(tx, svc.ids.new(PLAN, mode), merchant_id, mode)


async def create_plan(svc: Services, key: MerchantKey, body: Mapping[str, Any]) -> PlanRecord:
    """POST /v1/plans. Raises 400 on any invalid field, 404 for an unknown meter."""
    name = _name(body.get("name"))
    interval = _choice(body.get("billing_interval"), "billing_interval", INTERVALS)
    period_amount = money_in(body.get("period_amount"), "period_amount", maximum=MAX_AMOUNT_UNITS)
    included = (
        period_amount if body.get("included_credit") is None else _included(body["included_credit"], period_amount)
    )
    rollover = _choice(body.get("rollover_type") or "none", "rollover_type", ROLLOVERS)
    bundle_rollover = _choice(body.get("bundle_rollover_type") or "full", "bundle_rollover_type", ROLLOVERS)
    raw_bundles = body.get("credit_bundles") or []
    if not isinstance(raw_bundles, list) or len(raw_bundles) > MAX_BUNDLES:
        raise invalid_request(f"credit_bundles must be a list of at most {MAX_BUNDLES} bundles")
    bundle_fields = [_bundle_fields(b) for b in raw_bundles]
    index = body.get("default_auto_top_up_bundle_index")
    if index is not None and (
        isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bundle_fields)
    ):
        raise invalid_request("default_auto_top_up_bundle_index must index credit_bundles")
    at = now_us()
    plan_id = svc.ids.new(PLAN, key.mode)
    bundles = [
        BundleRecord(svc.ids.new(BUNDLE, key.mode), plan_id, key.merchant_id, key.mode, n, c, a, at)
        for n, c, a in bundle_fields
    ]
    async with svc.db.transaction() as tx:
        await ensure_default_plan(svc, tx, key.merchant_id, key.mode)
        meters = await _meter_ids(tx, key, body.get("meter_ids") or [])
        plan = PlanRecord(
            plan_id,
            key.merchant_id,
            key.mode,
            name,
            period_amount,
            interval,
            included,
            rollover,
            bundle_rollover,
            None if index is None else bundles[index].id,
            meters,
            False,
            at,
        )
        await repo.insert_plan(tx, plan)
        for bundle in bundles:
            await repo.insert_bundle(tx, bundle)
        created = await repo.get_plan(tx, key.merchant_id, key.mode, plan_id)
    assert created is not None
    return created


async def live_plan(svc: Services, key: MerchantKey, plan_id: str) -> PlanRecord:
    """A live plan of this merchant and mode; 404 ``not_found`` otherwise."""
    async with svc.db.transaction() as tx:
        await ensure_default_plan(svc, tx, key.merchant_id, key.mode)
        found = await repo.get_plan(tx, key.merchant_id, key.mode, plan_id)
    if found is None:
        raise ApiError(404, "not_found", "plan not found")
    return found


async def update_plan(svc: Services, key: MerchantKey, plan_id: str, body: Mapping[str, Any]) -> PlanRecord:
    """PATCH /v1/plans/{id}: credit and rollover edits reach subscribers at their next renewal;
    meter links apply at once; bundles are reconciled (id updates, id+is_deleted removes, no id creates)."""
    for name in IMMUTABLE:
        if name in body:
            raise ApiError(400, "immutable_field", f"{name} cannot be changed; create a new plan instead")
    async with svc.db.transaction() as tx:
        plan = await repo.get_plan(tx, key.merchant_id, key.mode, plan_id)
        if plan is None:
            raise ApiError(404, "not_found", "plan not found")
        fields: dict[str, Any] = {}
        if body.get("name") is not None:
            fields["name"] = _name(body["name"])
        if body.get("rollover_type") is not None:
            fields["rollover_type"] = _choice(body["rollover_type"], "rollover_type", ROLLOVERS)
        if body.get("bundle_rollover_type") is not None:
            fields["bundle_rollover_type"] = _choice(body["bundle_rollover_type"], "bundle_rollover_type", ROLLOVERS)
        if body.get("included_credit") is not None:
            fields["included_credit"] = _included(body["included_credit"], plan.period_amount)
        if "meter_ids" in body:
            fields["meter_ids"] = await _meter_ids(tx, key, body["meter_ids"] or [])
        at = now_us()
        raw_bundles = body.get("credit_bundles")
        if raw_bundles is not None:
            if not isinstance(raw_bundles, list):
                raise invalid_request("credit_bundles must be a list")
            own = {b.id: b for b in plan.bundles}
            for raw in raw_bundles:
                if not isinstance(raw, dict):
                    raise invalid_request("each credit bundle must be an object")
                bundle_id = raw.get("credit_bundle_id")
                if bundle_id is not None and bundle_id not in own:
                    raise ApiError(404, "not_found", f"credit bundle {bundle_id!r} is not on this plan")
                if bundle_id is not None and raw.get("is_deleted"):
                    await repo.delete_bundle(tx, bundle_id, at)
                    continue
                name, cost, amount = _bundle_fields(raw)
                if bundle_id is None:
                    bundle = BundleRecord(
                        svc.ids.new(BUNDLE, key.mode), plan.id, key.merchant_id, key.mode, name, cost, amount, at
                    )
                    await repo.insert_bundle(tx, bundle)
                else:
                    await repo.update_bundle(tx, bundle_id, name, cost, amount)
        if "default_auto_top_up_bundle_id" in body:
            wanted = body["default_auto_top_up_bundle_id"]
            if wanted is not None and await _plan_bundle(tx, key, plan.id, wanted) is None:
                raise ApiError(400, "bundle_not_on_plan", "default_auto_top_up_bundle_id must be a bundle of this plan")
            fields["default_auto_top_up_bundle_id"] = wanted
        await repo.update_plan(tx, plan.id, fields)
        updated = await repo.get_plan(tx, key.merchant_id, key.mode, plan.id)
        assert updated is not None
        if updated.default_auto_top_up_bundle_id not in {None, *(b.id for b in updated.bundles)}:
            await repo.update_plan(tx, plan.id, {"default_auto_top_up_bundle_id": None})
            updated = await repo.get_plan(tx, key.merchant_id, key.mode, plan.id)
    assert updated is not None
    return updated


async def _plan_bundle(tx: Executor, key: MerchantKey, plan_id: str, bundle_id: Any) -> BundleRecord | None:
    if not isinstance(bundle_id, str):
        return None
    bundle = await repo.get_bundle(tx, key.merchant_id, key.mode, bundle_id)
    return bundle if bundle is not None and bundle.plan_id == plan_id else None


async def delete_plan(svc: Services, key: MerchantKey, plan_id: str) -> None:
    """Soft delete, with its bundles. 409 ``default_plan`` for the free default, 409 ``plan_in_use``
    with active subscribers."""
    async with svc.db.transaction() as tx:
        plan = await repo.get_plan(tx, key.merchant_id, key.mode, plan_id)
        if plan is None:
            raise ApiError(404, "not_found", "plan not found")
        if plan.is_default:
            raise ApiError(409, "default_plan", "the default free plan cannot be deleted")
        users = await tx.fetchval(
            "SELECT COUNT(*) FROM subscriptions WHERE plan_id = $1 AND status = 'active'", plan.id
        )
        if int(users or 0) > 0:
            raise ApiError(409, "plan_in_use", "this plan has active subscriptions")
        at = now_us()
        await repo.update_plan(tx, plan.id, {"deleted_at": at})
        for bundle in plan.bundles:  # a deleted plan's bundles are gone too (404)
            await repo.delete_bundle(tx, bundle.id, at)
