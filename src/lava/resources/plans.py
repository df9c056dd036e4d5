"""``/plans`` and ``/credit_bundles`` (the current API). Money: str, Decimal or int USD."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict, cast

from .._params import NOT_GIVEN, Money, NotGiven, encode_money, given, path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import BillingInterval, CreditBundle, Deleted, Plan, RolloverType
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncCreditBundles", "AsyncPlans", "BundleParam", "BundleUpdateParam", "CreditBundles", "Plans"]


class BundleParam(TypedDict):
    name: str
    cost: Money
    credit_amount: Money


class BundleUpdateParam(TypedDict):
    """A bundle in a plan update: with ``credit_bundle_id`` it edits (or with ``is_deleted`` removes) one."""

    name: str
    cost: Money
    credit_amount: Money
    credit_bundle_id: NotRequired[str]
    is_deleted: NotRequired[bool]


def _bundle(param: BundleParam | BundleUpdateParam) -> dict[str, Any]:
    bundle = cast("Mapping[str, Any]", param)
    out: dict[str, Any] = {}
    if "credit_bundle_id" in bundle:
        out["credit_bundle_id"] = bundle["credit_bundle_id"]
    out["name"] = bundle["name"]
    out["cost"] = encode_money(bundle["cost"])
    out["credit_amount"] = encode_money(bundle["credit_amount"])
    if "is_deleted" in bundle:
        out["is_deleted"] = bundle["is_deleted"]
    return out


def _money(value: Money | NotGiven | None) -> str | NotGiven | None:
    return value if value is None or value is NOT_GIVEN else encode_money(value)  # type: ignore[arg-type]


def _create_body(fields: dict[str, Any]) -> dict[str, Any]:
    fields["period_amount"] = encode_money(fields["period_amount"])
    fields["included_credit"] = _money(fields["included_credit"])
    if fields["credit_bundles"] is not NOT_GIVEN:
        fields["credit_bundles"] = [_bundle(b) for b in fields["credit_bundles"]]
    if fields["meter_ids"] is not NOT_GIVEN:
        fields["meter_ids"] = list(fields["meter_ids"])
    return given(fields)


def _update_body(fields: dict[str, Any]) -> dict[str, Any]:
    fields["included_credit"] = _money(fields["included_credit"])
    if fields["credit_bundles"] is not NOT_GIVEN:
        fields["credit_bundles"] = [_bundle(b) for b in fields["credit_bundles"]]
    if fields["meter_ids"] is not NOT_GIVEN:
        fields["meter_ids"] = list(fields["meter_ids"])
    return given(fields)


class Plans(SyncAPIResource):
    def list(self, *, cursor: str | None = None, limit: int | None = None) -> SyncPage[Plan]:
        """Every plan, the default ``Free`` plan included."""
        return self._page("plans", Plan, {"cursor": cursor, "limit": limit})

    def retrieve(self, plan_id: str) -> Plan:
        return Plan.model_validate(self._client.request("GET", f"plans/{path_segment(plan_id)}"))

    def create(
        self,
        *,
        name: str,
        period_amount: Money,
        billing_interval: BillingInterval,
        rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        bundle_rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        included_credit: Money | NotGiven = NOT_GIVEN,
        default_auto_top_up_bundle_index: int | NotGiven | None = NOT_GIVEN,
        meter_ids: Sequence[str] | NotGiven = NOT_GIVEN,
        credit_bundles: Sequence[BundleParam] | NotGiven = NOT_GIVEN,
    ) -> Plan:
        """Create a plan. ``included_credit`` defaults to ``period_amount``;
        ``default_auto_top_up_bundle_index`` points into ``credit_bundles``."""
        body = _create_body(
            dict(
                name=name,
                period_amount=period_amount,
                billing_interval=billing_interval,
                rollover_type=rollover_type,
                bundle_rollover_type=bundle_rollover_type,
                included_credit=included_credit,
                default_auto_top_up_bundle_index=default_auto_top_up_bundle_index,
                meter_ids=meter_ids,
                credit_bundles=credit_bundles,
            )
        )
        return Plan.model_validate(self._client.request("POST", "plans", body=body, keep_null=True))

    def update(
        self,
        plan_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        bundle_rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        included_credit: Money | NotGiven = NOT_GIVEN,
        default_auto_top_up_bundle_id: str | NotGiven | None = NOT_GIVEN,
        meter_ids: Sequence[str] | NotGiven = NOT_GIVEN,
        credit_bundles: Sequence[BundleUpdateParam] | NotGiven = NOT_GIVEN,
    ) -> Plan:
        """Change the fields given (``period_amount`` and ``billing_interval`` are immutable).
        ``meter_ids`` and ``credit_bundles`` replace the whole set."""
        fields = _update_body(
            dict(
                name=name,
                rollover_type=rollover_type,
                bundle_rollover_type=bundle_rollover_type,
                included_credit=included_credit,
                default_auto_top_up_bundle_id=default_auto_top_up_bundle_id,
                meter_ids=meter_ids,
                credit_bundles=credit_bundles,
            )
        )
        raw = self._client.request("PATCH", f"plans/{path_segment(plan_id)}", body=fields, keep_null=True)
        return Plan.model_validate(raw)

    def delete(self, plan_id: str) -> Deleted:
        """409 ``plan_in_use`` with active subscriptions, 409 ``default_plan`` for the free plan."""
        return Deleted.model_validate(self._client.request("DELETE", f"plans/{path_segment(plan_id)}"))


class AsyncPlans(AsyncAPIResource):
    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> AsyncPage[Plan]:
        """Every plan, the default ``Free`` plan included."""
        return await self._page("plans", Plan, {"cursor": cursor, "limit": limit})

    async def retrieve(self, plan_id: str) -> Plan:
        return Plan.model_validate(await self._client.request("GET", f"plans/{path_segment(plan_id)}"))

    async def create(
        self,
        *,
        name: str,
        period_amount: Money,
        billing_interval: BillingInterval,
        rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        bundle_rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        included_credit: Money | NotGiven = NOT_GIVEN,
        default_auto_top_up_bundle_index: int | NotGiven | None = NOT_GIVEN,
        meter_ids: Sequence[str] | NotGiven = NOT_GIVEN,
        credit_bundles: Sequence[BundleParam] | NotGiven = NOT_GIVEN,
    ) -> Plan:
        """See :meth:`Plans.create`."""
        body = _create_body(
            dict(
                name=name,
                period_amount=period_amount,
                billing_interval=billing_interval,
                rollover_type=rollover_type,
                bundle_rollover_type=bundle_rollover_type,
                included_credit=included_credit,
                default_auto_top_up_bundle_index=default_auto_top_up_bundle_index,
                meter_ids=meter_ids,
                credit_bundles=credit_bundles,
            )
        )
        return Plan.model_validate(await self._client.request("POST", "plans", body=body, keep_null=True))

    async def update(
        self,
        plan_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        bundle_rollover_type: RolloverType | NotGiven = NOT_GIVEN,
        included_credit: Money | NotGiven = NOT_GIVEN,
        default_auto_top_up_bundle_id: str | NotGiven | None = NOT_GIVEN,
        meter_ids: Sequence[str] | NotGiven = NOT_GIVEN,
        credit_bundles: Sequence[BundleUpdateParam] | NotGiven = NOT_GIVEN,
    ) -> Plan:
        """See :meth:`Plans.update`."""
        fields = _update_body(
            dict(
                name=name,
                rollover_type=rollover_type,
                bundle_rollover_type=bundle_rollover_type,
                included_credit=included_credit,
                default_auto_top_up_bundle_id=default_auto_top_up_bundle_id,
                meter_ids=meter_ids,
                credit_bundles=credit_bundles,
            )
        )
        raw = await self._client.request("PATCH", f"plans/{path_segment(plan_id)}", body=fields, keep_null=True)
        return Plan.model_validate(raw)

    async def delete(self, plan_id: str) -> Deleted:
        """See :meth:`Plans.delete`."""
        return Deleted.model_validate(await self._client.request("DELETE", f"plans/{path_segment(plan_id)}"))


class CreditBundles(SyncAPIResource):
    def list(
        self, *, plan_id: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> SyncPage[CreditBundle]:
        return self._page("credit_bundles", CreditBundle, {"cursor": cursor, "limit": limit, "plan_id": plan_id})

    def retrieve(self, credit_bundle_id: str) -> CreditBundle:
        raw = self._client.request("GET", f"credit_bundles/{path_segment(credit_bundle_id)}")
        return CreditBundle.model_validate(raw)


class AsyncCreditBundles(AsyncAPIResource):
    async def list(
        self, *, plan_id: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> AsyncPage[CreditBundle]:
        return await self._page("credit_bundles", CreditBundle, {"cursor": cursor, "limit": limit, "plan_id": plan_id})

    async def retrieve(self, credit_bundle_id: str) -> CreditBundle:
        raw = await self._client.request("GET", f"credit_bundles/{path_segment(credit_bundle_id)}")
        return CreditBundle.model_validate(raw)
