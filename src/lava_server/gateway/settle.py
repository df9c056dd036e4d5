"""The one way a forwarded call ends in billing: :func:`conclude` settles it or fails it.

Every exit of the forward lifecycle (buffered, streamed, upstream unreachable, timed out,
too large, cut by us) describes what happened as an :class:`Ending` and hands it here, so the
rules are written once:

1. ``failure`` set (the upstream failed, or sent more than we accept) → ``error``, nothing
   charged; what the dialect learned is kept on the record.
2. no dialect (an unmetered read) → ``completed`` with zero usage.
3. a dialect that is not billable (token counting) → ``completed`` with zero usage.
4. an error the provider reported (non-2xx, or in a 2xx body/stream) → ``error``, nothing charged.
5. otherwise → charged: the provider's usage, or :func:`missing_usage_estimate`, marked.

A settlement that raises is turned into a failed call (hold released, record ``error``) and
re-raised as :class:`SettlementFailed`, so the caller ends its response cleanly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..billing.fees import UnitCounts
from ..billing.service import BillingService, Outcome, Reservation
from ..errors import ApiError
from ..store.requests import RequestRecord
from .estimate import missing_usage_estimate
from .outcome import failure_outcome, outcome_of
from .usage import Metered

log = logging.getLogger("lava.gateway")


class SettlementFailed(ApiError):
    """Billing could not record a finished call; it was failed instead (never charged)."""

    def __init__(self, cause: BaseException, request_id: str) -> None:
        super().__init__(
            500,
            "settlement_failed",
            f"the call could not be recorded ({type(cause).__name__}); it was not charged",
            headers={"x-lava-request-id": request_id},
        )


@dataclass(frozen=True, slots=True)
class Ending:
    """How one forwarded call ended, as the gateway saw it."""

    metered: Metered | None
    """What the dialect read from the response; None when the call has no dialect."""
    failure: str | None = None
    """Why the call failed on the upstream's side (or ours, before anything billable)."""
    billable: bool = True
    """False for a dialect whose calls are never metered as consumption (token counting)."""
    events: int = 0
    """SSE events relayed: the output basis of an estimate."""
    body_bytes: int = 0
    """Bytes of a non-SSE body relayed: the output basis of an estimate."""


async def conclude(billing: BillingService, res: Reservation, ending: Ending) -> RequestRecord:
    """Finish ``res`` exactly once according to ``ending`` (see the module docstring).

    Raises :class:`SettlementFailed` if charging raised; the call is then failed first.
    A call already finished elsewhere is left as it is.
    """
    metered = ending.metered
    if ending.failure is not None:
        return await billing.fail(res, ending.failure, failure_outcome(metered) if metered else None)
    if metered is not None and metered.error is not None:
        return await billing.fail(res, metered.error, failure_outcome(metered))
    if metered is None:
        outcome = Outcome(UnitCounts(), None, None, None)
    elif not ending.billable:
        outcome = Outcome(UnitCounts(), None, res.plan.model, None)
    else:
        estimate = missing_usage_estimate(
            res.plan.prompt_tokens_estimate, events=ending.events, body_bytes=ending.body_bytes
        )
        outcome = outcome_of(metered, estimate=estimate)
    try:
        return await billing.settle(res, outcome)
    except Exception as exc:
        log.exception("settlement of %s failed; failing the call instead", res.record.id)
        await asyncio.shield(billing.fail(res, f"settlement failed: {type(exc).__name__}"))
        raise SettlementFailed(exc, res.record.id) from exc
