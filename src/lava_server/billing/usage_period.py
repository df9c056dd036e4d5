"""Usage periods: each connection's fee tiers accumulate from its last usage reset.

Resets are monthly, aligned to the connection's creation time: a connection created
on the 31st resets on the last day of shorter months, at the same time of day.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from ..clock import from_datetime


def _add_months(anchor: datetime, months: int) -> datetime:
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def usage_period(anchor_us: int, now_us: int) -> tuple[int, int]:
    """(previous_usage_reset, next_usage_reset) around ``now``, in microseconds."""
    anchor = datetime.fromtimestamp(anchor_us // 1_000_000, tz=UTC).replace(microsecond=anchor_us % 1_000_000)
    if now_us < anchor_us:
        return anchor_us, from_datetime(_add_months(anchor, 1))
    now = datetime.fromtimestamp(now_us // 1_000_000, tz=UTC)
    months = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    start = _add_months(anchor, months)
    while from_datetime(start) > now_us:
        months -= 1
        start = _add_months(anchor, months)
    while from_datetime(_add_months(anchor, months + 1)) <= now_us:
        months += 1
        start = _add_months(anchor, months)
    return from_datetime(start), from_datetime(_add_months(anchor, months + 1))
