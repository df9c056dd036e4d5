"""Between the gateway and billing: the plan of a call before it is forwarded, and the outcome
billing settles once a dialect has metered the response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..billing.fees import UnitCounts
from ..billing.service import ForwardPlan, Outcome, SubCallUsage
from .dialects import Dialect
from .dialects._base import read_output_bound
from .estimate import estimate_prompt_tokens
from .request_fields import json_object
from .targets import Target
from .tokens import ForwardAuth
from .usage import Metered

json_body = json_object  # the JSON-only reader; request_fields reads every encoding


def outcome_of(metered: Metered, *, estimate: UnitCounts | None = None) -> Outcome:
    reported = metered.reported.as_dict() if metered.reported and not metered.reported.is_empty() else None
    if metered.pending:  # accepted, not yet done: billed when a poll returns the finished response
        return Outcome(UnitCounts(), reported, metered.model, metered.response_id, pending=True)
    if metered.usage is not None:
        subs = tuple(SubCallUsage(c.model, c.usage) for c in metered.sub_calls if c.model)
        return Outcome(metered.usage, reported, metered.model, metered.response_id, sub_calls=subs)
    assert estimate is not None
    return Outcome(estimate, reported, metered.model, metered.response_id, estimated=True)


def failure_outcome(metered: Metered) -> Outcome | None:
    """What an errored call still tells us (for the record only; errors are never charged)."""
    if metered.reported is None and metered.model is None and metered.response_id is None:
        return None
    reported = metered.reported.as_dict() if metered.reported and not metered.reported.is_empty() else None
    return Outcome(UnitCounts(), reported, metered.model, metered.response_id)


def build_plan(
    target: Target,
    auth: ForwardAuth,
    dialect: Dialect | None,
    method: str,
    body_json: Mapping[str, Any] | None,
    metadata: dict[str, str] | None = None,
) -> ForwardPlan:
    """What billing needs to know about a call before it is forwarded (also used by quotes).

    Raises ``ApiError`` 400 when the request's output cap or multiplier is out of range.
    """
    bound = dialect.output_bound(body_json) if dialect is not None else read_output_bound(body_json)
    return ForwardPlan(
        merchant=auth.merchant,
        connection_id=auth.connection_id,
        wallet_id=auth.wallet_id,
        product_id=auth.product_id,
        product=auth.product,
        provider=target.provider.slug,
        pricing_id=target.provider.price_provider_id,
        managed=auth.provider_key is None,
        model=dialect.request_model(target.path, body_json) if dialect else None,
        endpoint=f"{method.upper()} {target.url}",
        metadata=metadata or {},
        prompt_tokens_estimate=estimate_prompt_tokens(body_json),
        max_output_tokens=bound.max_tokens,
        output_choices=bound.choices,
        connection_created_at=auth.connection_created_at,
        billable=dialect is not None and dialect.billable,
        refetchable_response=dialect is not None and dialect.stores_responses,
        action="fetch" if method.upper() in ("GET", "HEAD") else "create",
        fetched_response_id=dialect.stored_response_id(method, target.path) if dialect else None,
        token_form=auth.form,
        spend_key_id=auth.spend_key_id,
    )
