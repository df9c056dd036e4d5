"""Spend-key limits, enforced in the transaction that opens a call (docs/spend-keys.md).

``reserve`` runs first in the hold transaction of ``BillingService.open``: it locks the key's row
(so every replica serialises on it), re-checks the key, takes a token from its rate bucket and
admits the call only if the key's committed counters *plus every unexpired in-flight hold* plus
this call's worst case stay within its limits. An admitted call leaves a ``spend_key_holds`` row;
``settle`` replaces it with the actual cost, ``release`` drops it (failed calls count nothing).

Cycles reset lazily at 00:00 UTC: ``daily`` every day, ``weekly`` on Mondays, ``monthly`` on
the 1st; ``total`` never. Units: money in 10⁻¹⁰ USD, time in µs. The rate bucket holds
milli-tokens: capacity ``burst`` (default ``rpm``) tokens, refilled at ``rpm``/60 per second.

Refusals are returned (not raised) so the caller can commit ``last_used_at``, and the
``spend_key.limit_reached`` event (once per key, limit and cycle) written through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from ..clock import from_datetime, to_iso
from ..errors import ApiError
from ..money import to_wire
from ..store import Executor
from ..store import spend_keys as repo
from ..store.outbox import Event, Outbox
from ..store.spend_keys import Cycle, SpendKeyRecord
from .plans import ForwardPlan, Quote

MILLI = 1000
US_PER_MINUTE = 60_000_000
LimitKind = Literal["spend_limit", "request_limit"]


def cycle_start(cycle: Cycle | None, at: int) -> int:
    """Start (µs, UTC) of the cycle that contains ``at``; 0 for ``total`` or no cycle."""
    if cycle is None or cycle == "total":
        return 0
    day = datetime.fromtimestamp(at // 1_000_000, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cycle == "weekly":
        day -= timedelta(days=day.weekday())
    elif cycle == "monthly":
        day = day.replace(day=1)
    return from_datetime(day)


@dataclass(frozen=True)
class Counters:
    """A key's counters as of ``at``: the current cycle's (reset when a boundary passed) and totals."""

    current_spend: int
    total_spend: int
    current_requests: int
    total_requests: int


def rolled(rec: SpendKeyRecord, at: int) -> SpendKeyRecord:
    """``rec`` with each cycle counter reset if its cycle ended before ``at``."""
    s = rec.settings
    spend_start, req_start = cycle_start(s.spend_cycle, at), cycle_start(s.request_cycle, at)
    if spend_start != rec.spend_cycle_start:
        rec = replace(rec, spend_cycle_start=spend_start, current_spend=0)
    if req_start != rec.requests_cycle_start:
        rec = replace(rec, requests_cycle_start=req_start, current_requests=0)
    return rec


def counters(rec: SpendKeyRecord, at: int) -> Counters:
    """What the API shows: with no matching limit, the current counter equals the total."""
    r = rolled(rec, at)
    s = r.settings
    return Counters(
        current_spend=r.current_spend if s.spend_limit is not None else r.total_spend,
        total_spend=r.total_spend,
        current_requests=r.current_requests if s.request_limit is not None else r.total_requests,
        total_requests=r.total_requests,
    )


def take_token(rec: SpendKeyRecord, at: int) -> tuple[SpendKeyRecord, int | None]:
    """(key with the bucket after taking one token, None) — or (unchanged key, Retry-After seconds)."""
    rpm, burst = rec.settings.rate_rpm, rec.settings.rate_burst
    if rpm is None:
        return rec, None
    capacity = (burst or rpm) * MILLI
    if rec.bucket_milli is None or rec.bucket_at is None:
        level = capacity
    else:
        refill = max(at - rec.bucket_at, 0) * rpm * MILLI // US_PER_MINUTE
        level = min(capacity, rec.bucket_milli + refill)
    if level < MILLI:
        missing = MILLI - level
        return rec, max(1, -(-missing * 60 // (rpm * MILLI)))
    return replace(rec, bucket_milli=level - MILLI, bucket_at=at), None


def _allowed(rec: SpendKeyRecord, provider: str, model: str | None, billable: bool) -> ApiError | None:
    s = rec.settings
    if s.allowed_providers is not None and provider not in s.allowed_providers:
        return ApiError(403, "provider_not_allowed", f"this spend key may not use provider {provider!r}")
    if s.allowed_models is not None:
        if model is None:
            if billable:
                return ApiError(403, "model_not_allowed", "this spend key allows named models only")
        elif model not in s.allowed_models and f"{provider}/{model}" not in s.allowed_models:
            return ApiError(403, "model_not_allowed", f"this spend key may not use model {model!r}")
    return None


def check_standing(rec: SpendKeyRecord, at: int) -> ApiError | None:
    """Checks 2–3 of docs/spend-keys.md: expired (401), paused (403)."""
    if rec.settings.expires_at is not None and rec.settings.expires_at <= at:
        return ApiError(401, "spend_key_expired", "this spend key has expired")
    if rec.settings.status == "paused":
        return ApiError(403, "spend_key_paused", "this spend key is paused")
    return None


@dataclass(frozen=True)
class CallRequest:
    """What ``reserve`` needs to know about a call. ``worst_units`` is its worst-case provider
    cost, or None when the model has no price (then a key with a spend limit refuses it)."""

    spend_key_id: str
    request_id: str
    provider: str
    model: str | None
    billable: bool
    worst_units: int | None
    at: int
    expires_at: int


async def reserve(tx: Executor, outbox: Outbox | None, call: CallRequest) -> ApiError | None:
    """Admit the call (None, a hold row written) or return the refusal, in the order of docs/spend-keys.md.
    Every outcome touches ``last_used_at``; the caller commits either way."""
    at = call.at
    locked = await repo.lock_for_use(tx, call.spend_key_id, at)
    if locked is None:
        return ApiError(401, "invalid_spend_key", "this spend key is not valid (revoked or rotated)")
    refusal = check_standing(locked, at) or _allowed(locked, call.provider, call.model, call.billable)
    if refusal is not None:
        return refusal
    rec = rolled(locked, at)
    rec, retry_after = take_token(rec, at)
    if retry_after is not None:
        return ApiError(
            429,
            "rate_limited",
            f"this spend key is over its rate limit of {rec.settings.rate_rpm} requests per minute",
            headers={"Retry-After": str(retry_after)},
        )
    held_units, held_calls = await repo.in_flight(tx, rec.id, at)
    s = rec.settings
    if s.request_limit is not None and rec.current_requests + held_calls + 1 > s.request_limit:
        rec = await _notify(tx, outbox, rec, "request_limit", at)
        await repo.save_counters(tx, rec)
        return ApiError(
            429, "request_limit_reached", f"this spend key has used its {s.request_limit} requests this cycle"
        )
    worst = call.worst_units if call.billable else 0
    if s.spend_limit is not None:
        if worst is None:
            return ApiError(
                400,
                "unknown_model_price",
                f"no price for model {call.model!r}: a spend key with a spend limit cannot bound its cost",
            )
        if rec.current_spend + held_units + worst > s.spend_limit:
            rec = await _notify(tx, outbox, rec, "spend_limit", at)
            await repo.save_counters(tx, rec)
            return ApiError(
                429,
                "spend_limit_reached",
                f"this call may cost up to ${to_wire(worst)}; the spend key has "
                f"${to_wire(max(s.spend_limit - rec.current_spend - held_units, 0))} of its "
                f"${to_wire(s.spend_limit)} {s.spend_cycle} limit left",
            )
    await repo.insert_hold(tx, call.request_id, rec.id, worst or 0, at, call.expires_at)
    await repo.save_counters(tx, rec)
    return None


async def settle(tx: Executor, outbox: Outbox | None, request_id: str, cost_units: int, at: int) -> None:
    """The call finished with ``cost_units`` of provider cost: its hold becomes that spend and one
    request (exactly once; a no-op for calls without a spend key or already finished)."""
    key_id = await repo.close_hold(tx, request_id, "settled")
    if key_id is None:
        return
    locked = await repo.lock_for_use(tx, key_id, at)
    if locked is None:  # revoked while the call ran: it still spent, and the key still counts it
        row = await tx.fetchone("SELECT id FROM spend_keys WHERE id = $1", key_id)
        if row is None:
            return
        await tx.execute(
            "UPDATE spend_keys SET total_spend = total_spend + $2, total_requests = total_requests + 1 WHERE id = $1",
            key_id,
            cost_units,
        )
        return
    rec = rolled(locked, at)
    rec = replace(
        rec,
        current_spend=rec.current_spend + cost_units,
        total_spend=rec.total_spend + cost_units,
        current_requests=rec.current_requests + 1,
        total_requests=rec.total_requests + 1,
    )
    s = rec.settings
    if s.spend_limit is not None and rec.current_spend >= s.spend_limit:
        rec = await _notify(tx, outbox, rec, "spend_limit", at)
    if s.request_limit is not None and rec.current_requests >= s.request_limit:
        rec = await _notify(tx, outbox, rec, "request_limit", at)
    await repo.save_counters(tx, rec)


async def release(tx: Executor, request_id: str) -> None:
    """The call failed: its hold stops counting, nothing is spent."""
    await repo.close_hold(tx, request_id, "released")


async def _notify(tx: Executor, outbox: Outbox | None, rec: SpendKeyRecord, kind: LimitKind, at: int) -> SpendKeyRecord:
    """Write ``spend_key.limit_reached`` once per key, limit and cycle; returns the key marked."""
    s = rec.settings
    if kind == "spend_limit":
        if rec.spend_notified_cycle == rec.spend_cycle_start:
            return rec
        limit: dict[str, object] = {"amount": to_wire(s.spend_limit or 0), "cycle": s.spend_cycle}
        marked = replace(rec, spend_notified_cycle=rec.spend_cycle_start)
    else:
        if rec.requests_notified_cycle == rec.requests_cycle_start:
            return rec
        limit = {"count": s.request_limit, "cycle": s.request_cycle}
        marked = replace(rec, requests_notified_cycle=rec.requests_cycle_start)
    view = counters(rec, at)
    detail = {
        "spend_key": {
            "spend_key_id": rec.id,
            "name": s.name,
            "current_spend": to_wire(view.current_spend),
            "current_requests": view.current_requests,
        },
        "limit": {"type": kind, **limit},
        "reached_at": to_iso(at),
    }
    # The event's subject is the key (its id fills the outbox's subject column, ``customer_id``).
    if outbox is not None:  # None only where no webhooks are wired (bare ledger in tools)
        await outbox.add(tx, Event("spend_key.limit_reached", rec.merchant_id, rec.mode, rec.id, detail=detail))
    return marked


def call_of(plan: ForwardPlan, request_id: str, quote: Quote, at: int, expires_at: int) -> CallRequest:
    """The ``reserve`` input for a planned call: its worst case is the quote's provider cost.

    A fetch of a stored response names no model, so its cost is unknown until it returns: it is
    admitted at 0 while the key is within its limit, and counted in full when it settles (so one
    background response can take a key past its spend limit; the next call is then refused)."""
    assert plan.spend_key_id is not None
    base = quote.worst_case.base
    unknowable = plan.action == "fetch" and plan.model is None
    worst = base.total_units if base is not None else (None if plan.billable and not unknowable else 0)
    return CallRequest(plan.spend_key_id, request_id, plan.provider, plan.model, plan.billable, worst, at, expires_at)
