"""``/spend_keys`` (the current API): API keys with limits, used directly as provider keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from .._params import NOT_GIVEN, Money, NotGiven, encode_money, encode_timestamp, given, path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import CreatedSpendKey, DeleteResult, LimitCycle, RequestShape, SpendKey, SpendKeyStatus
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncSpendKeys", "RateLimitParam", "RequestLimitParam", "SpendKeys", "SpendLimitParam"]


class SpendLimitParam(TypedDict):
    amount: Money
    cycle: LimitCycle


class RequestLimitParam(TypedDict):
    count: int
    cycle: LimitCycle


class RateLimitParam(TypedDict):
    rpm: int
    burst: NotRequired[int | None]


_Opt = NotGiven  # shorthand in signatures below: NOT_GIVEN leaves the field out, None sends null


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    """Encode money, lists and timestamps; drop NOT_GIVEN; keep None (null clears or means "all")."""
    limit = fields.get("spend_limit")
    if isinstance(limit, dict):
        fields["spend_limit"] = {"amount": encode_money(limit["amount"]), "cycle": limit["cycle"]}
    for name in ("allowed_models", "allowed_providers"):
        value = fields.get(name)
        if isinstance(value, str):
            raise TypeError(f"{name} must be a list of strings, not a string")
        if isinstance(value, Sequence):
            fields[name] = list(value)
    for name in ("request_limit", "rate_limit"):
        if isinstance(fields.get(name), dict):
            fields[name] = dict(fields[name])
    expires = fields.get("expires_at")
    if isinstance(expires, str | datetime):
        fields["expires_at"] = encode_timestamp(expires)
    return given(fields)


class SpendKeys(SyncAPIResource):
    def create(
        self,
        *,
        name: str,
        status: SpendKeyStatus | _Opt = NOT_GIVEN,
        request_shape: RequestShape | _Opt = NOT_GIVEN,
        allowed_models: Sequence[str] | _Opt | None = NOT_GIVEN,
        allowed_providers: Sequence[str] | _Opt | None = NOT_GIVEN,
        spend_limit: SpendLimitParam | _Opt | None = NOT_GIVEN,
        request_limit: RequestLimitParam | _Opt | None = NOT_GIVEN,
        rate_limit: RateLimitParam | _Opt | None = NOT_GIVEN,
        expires_at: str | datetime | _Opt | None = NOT_GIVEN,
    ) -> CreatedSpendKey:
        """Create a key; its raw ``key`` is shown only here. ``None`` allow-lists allow everything."""
        body = _body(
            {
                "name": name,
                "status": status,
                "request_shape": request_shape,
                "allowed_models": allowed_models,
                "allowed_providers": allowed_providers,
                "spend_limit": spend_limit,
                "request_limit": request_limit,
                "rate_limit": rate_limit,
                "expires_at": expires_at,
            }
        )
        return CreatedSpendKey.model_validate(self._client.request("POST", "spend_keys", body=body, keep_null=True))

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> SyncPage[SpendKey]:
        """Active and paused keys (revoked ones are gone)."""
        return self._page("spend_keys", SpendKey, {"cursor": cursor, "limit": limit})

    def retrieve(self, spend_key_id: str) -> SpendKey:
        return SpendKey.model_validate(self._client.request("GET", f"spend_keys/{path_segment(spend_key_id)}"))

    def update(
        self,
        spend_key_id: str,
        *,
        name: str | _Opt = NOT_GIVEN,
        status: SpendKeyStatus | _Opt = NOT_GIVEN,
        request_shape: RequestShape | _Opt = NOT_GIVEN,
        allowed_models: Sequence[str] | _Opt | None = NOT_GIVEN,
        allowed_providers: Sequence[str] | _Opt | None = NOT_GIVEN,
        spend_limit: SpendLimitParam | _Opt | None = NOT_GIVEN,
        request_limit: RequestLimitParam | _Opt | None = NOT_GIVEN,
        rate_limit: RateLimitParam | _Opt | None = NOT_GIVEN,
        expires_at: str | datetime | _Opt | None = NOT_GIVEN,
    ) -> SpendKey:
        """``PUT`` with only the fields given (a partial update); ``None`` clears a limit."""
        body = _body(
            {
                "name": name,
                "status": status,
                "request_shape": request_shape,
                "allowed_models": allowed_models,
                "allowed_providers": allowed_providers,
                "spend_limit": spend_limit,
                "request_limit": request_limit,
                "rate_limit": rate_limit,
                "expires_at": expires_at,
            }
        )
        raw = self._client.request("PUT", f"spend_keys/{path_segment(spend_key_id)}", body=body, keep_null=True)
        return SpendKey.model_validate(raw)

    def revoke(self, spend_key_id: str) -> DeleteResult:
        """The key stops working at once."""
        raw = self._client.request("DELETE", f"spend_keys/{path_segment(spend_key_id)}")
        return DeleteResult.model_validate(raw)

    def rotate(self, spend_key_id: str) -> CreatedSpendKey:
        """A new raw ``key``; the old one dies at once, settings and counters stay."""
        raw = self._client.request("POST", f"spend_keys/{path_segment(spend_key_id)}/rotate")
        return CreatedSpendKey.model_validate(raw)


class AsyncSpendKeys(AsyncAPIResource):
    async def create(
        self,
        *,
        name: str,
        status: SpendKeyStatus | _Opt = NOT_GIVEN,
        request_shape: RequestShape | _Opt = NOT_GIVEN,
        allowed_models: Sequence[str] | _Opt | None = NOT_GIVEN,
        allowed_providers: Sequence[str] | _Opt | None = NOT_GIVEN,
        spend_limit: SpendLimitParam | _Opt | None = NOT_GIVEN,
        request_limit: RequestLimitParam | _Opt | None = NOT_GIVEN,
        rate_limit: RateLimitParam | _Opt | None = NOT_GIVEN,
        expires_at: str | datetime | _Opt | None = NOT_GIVEN,
    ) -> CreatedSpendKey:
        """See :meth:`SpendKeys.create`."""
        body = _body(
            {
                "name": name,
                "status": status,
                "request_shape": request_shape,
                "allowed_models": allowed_models,
                "allowed_providers": allowed_providers,
                "spend_limit": spend_limit,
                "request_limit": request_limit,
                "rate_limit": rate_limit,
                "expires_at": expires_at,
            }
        )
        raw = await self._client.request("POST", "spend_keys", body=body, keep_null=True)
        return CreatedSpendKey.model_validate(raw)

    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> AsyncPage[SpendKey]:
        """Active and paused keys (revoked ones are gone)."""
        return await self._page("spend_keys", SpendKey, {"cursor": cursor, "limit": limit})

    async def retrieve(self, spend_key_id: str) -> SpendKey:
        raw = await self._client.request("GET", f"spend_keys/{path_segment(spend_key_id)}")
        return SpendKey.model_validate(raw)

    async def update(
        self,
        spend_key_id: str,
        *,
        name: str | _Opt = NOT_GIVEN,
        status: SpendKeyStatus | _Opt = NOT_GIVEN,
        request_shape: RequestShape | _Opt = NOT_GIVEN,
        allowed_models: Sequence[str] | _Opt | None = NOT_GIVEN,
        allowed_providers: Sequence[str] | _Opt | None = NOT_GIVEN,
        spend_limit: SpendLimitParam | _Opt | None = NOT_GIVEN,
        request_limit: RequestLimitParam | _Opt | None = NOT_GIVEN,
        rate_limit: RateLimitParam | _Opt | None = NOT_GIVEN,
        expires_at: str | datetime | _Opt | None = NOT_GIVEN,
    ) -> SpendKey:
        """See :meth:`SpendKeys.update`."""
        body = _body(
            {
                "name": name,
                "status": status,
                "request_shape": request_shape,
                "allowed_models": allowed_models,
                "allowed_providers": allowed_providers,
                "spend_limit": spend_limit,
                "request_limit": request_limit,
                "rate_limit": rate_limit,
                "expires_at": expires_at,
            }
        )
        raw = await self._client.request("PUT", f"spend_keys/{path_segment(spend_key_id)}", body=body, keep_null=True)
        return SpendKey.model_validate(raw)

    async def revoke(self, spend_key_id: str) -> DeleteResult:
        """See :meth:`SpendKeys.revoke`."""
        raw = await self._client.request("DELETE", f"spend_keys/{path_segment(spend_key_id)}")
        return DeleteResult.model_validate(raw)

    async def rotate(self, spend_key_id: str) -> CreatedSpendKey:
        """See :meth:`SpendKeys.rotate`."""
        raw = await self._client.request("POST", f"spend_keys/{path_segment(spend_key_id)}/rotate")
        return CreatedSpendKey.model_validate(raw)
