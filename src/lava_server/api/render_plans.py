"""Plans, credit bundles, subscriptions and test clocks → wire objects (docs/plans.md).

``current`` gets exactly the 11.2.0 fields; ``compat`` adds the 8.x names
(``subscription_config_id``, ``connection_id``) and our extensions (``past_due_since``,
``renewal_failures``, ``payment_method`` presence).
"""

from __future__ import annotations

from typing import Any

from ..billing.ledger import CreditSources
from ..clock import to_iso
from ..money import to_wire
from ..store.connections import ConnectionRecord
from ..store.plans import BundleRecord, PlanRecord
from ..store.subscriptions import SubscriptionRecord
from .profiles import Profile, legacy_fields


def bundle(rec: BundleRecord, profile: Profile) -> dict[str, Any]:
    """A ``RestCreditBundle``."""
    out: dict[str, Any] = {
        "credit_bundle_id": rec.id,
        "plan_id": rec.plan_id,
        "name": rec.name,
        "cost": to_wire(rec.cost),
        "credit_amount": to_wire(rec.credit_amount),
        "created_at": to_iso(rec.created_at),
    }
    if legacy_fields(profile):
        out["subscription_config_id"] = rec.plan_id
    return out


def plan(rec: PlanRecord, meter_names: dict[str, str], profile: Profile) -> dict[str, Any]:
    """A ``RestPlan``; ``meter_names`` maps linked meter ids to their names."""
    out: dict[str, Any] = {
        "plan_id": rec.id,
        "merchant_id": rec.merchant_id,
        "name": rec.name,
        "period_amount": to_wire(rec.period_amount),
        "included_credit": to_wire(rec.included_credit),
        "billing_interval": rec.billing_interval,
        "rollover_type": rec.rollover_type,
        "bundle_rollover_type": rec.bundle_rollover_type,
        "default_auto_top_up_bundle_id": rec.default_auto_top_up_bundle_id,
        "linked_meters": [{"meter_id": m, "name": meter_names.get(m, "")} for m in rec.meter_ids],
        "credit_bundles": [
            {
                "credit_bundle_id": b.id,
                "name": b.name,
                "cost": to_wire(b.cost),
                "credit_amount": to_wire(b.credit_amount),
            }
            for b in rec.bundles
        ],
        "created_at": to_iso(rec.created_at),
    }
    if legacy_fields(profile):
        out["subscription_config_id"] = rec.id
        out["is_default"] = rec.is_default
    return out


def _snapshot(snap: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": snap["name"],
        "period_amount": to_wire(int(snap["period_amount"])),
        "included_credit": to_wire(int(snap["included_credit"])),
        "billing_interval": snap["billing_interval"],
        "rollover_type": snap["rollover_type"],
        "bundle_rollover_type": snap["bundle_rollover_type"],
    }


def credits(c: CreditSources) -> dict[str, str]:
    """``{total_remaining, cycle_remaining, bundle_remaining}``: exact ledger balances."""
    return {
        "total_remaining": to_wire(c.total),
        "cycle_remaining": to_wire(c.cycle_balance),
        "bundle_remaining": to_wire(c.bundle_balance),
    }


def subscription(
    rec: SubscriptionRecord,
    balances: CreditSources,
    target: PlanRecord | None,
    profile: Profile,
    customer: ConnectionRecord | None = None,
) -> dict[str, Any]:
    """A ``RestSubscriptionBase`` (with ``customer``: the list's ``RestSubscription``).
    ``target`` is the plan of a pending downgrade."""
    pending: dict[str, Any] | None = None
    if rec.pending_change is not None and rec.status == "active":
        pending = {"type": rec.pending_change["type"], "effective_at": to_iso(rec.cycle_end_at)}
        if rec.pending_change["type"] == "downgrade" and target is not None:
            pending.update(
                plan_id=target.id,
                name=target.name,
                period_amount=to_wire(target.period_amount),
                included_credit=to_wire(target.included_credit),
            )
            if legacy_fields(profile):
                pending["subscription_config_id"] = target.id
    active = rec.status == "active"
    out: dict[str, Any] = {
        "subscription_id": rec.id,
        "plan_id": rec.plan_id,
        "status": rec.status,
        "auto_top_up_bundle_id": rec.auto_top_up_bundle_id,
        "started_at": to_iso(rec.started_at),
        "cancelled_at": None if rec.cancelled_at is None else to_iso(rec.cancelled_at),
        "cycle_start_at": to_iso(rec.cycle_start_at) if active else None,
        "cycle_end_at": to_iso(rec.cycle_end_at) if active else None,
        "plan": _snapshot(rec.plan_snapshot),
        "credits": credits(balances),
        "pending_change": pending,
    }
    if customer is not None:
        w = customer.wallet
        contact: dict[str, Any] = {"phone": w.phone or ""}
        for name in ("email", "first_name", "last_name"):
            if getattr(w, name):
                contact[name] = getattr(w, name)
        out["customer_id"] = customer.id
        out["customer"] = contact
    if legacy_fields(profile):
        out["subscription_config_id"] = rec.plan_id
        out["connection_id"] = rec.connection_id
        out["past_due_since"] = None if rec.past_due_since is None else to_iso(rec.past_due_since)
        out["renewal_failures"] = rec.renewal_failures
    return out


def summary(rec: SubscriptionRecord) -> dict[str, Any]:
    """The ``RestCustomerSubscription`` summary on a customer."""
    return {
        "subscription_id": rec.id,
        "plan_id": rec.plan_id,
        "name": rec.plan_snapshot["name"],
        "status": rec.status,
    }


def test_clock(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "test_clock_id": row["id"],
        "name": row["name"],
        "frozen_time": to_iso(int(row["frozen_time"])),
        "created_at": to_iso(int(row["created_at"])),
    }
